import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { BanciwsInstitution } from '../lib/config/banciws-config';
import type { AppConfig } from '../lib/config/config';
import type { Logger } from '../lib/observability/logger';
import type { BanciwsInboxInput } from '../workflows/banciws/types';

/**
 * One Schedule per configured institution polls its BANCIWS inbox (listaMesaje) every
 * `pollEveryMinutes`. Creating one that exists is a no-op, so workers may start at once;
 * an operator's edits (pause, period) are kept.
 */

export function banciwsInboxScheduleId(institution: Pick<BanciwsInstitution, 'id'>): string {
  return `anaf-flow-banciws-inbox-${institution.id}`;
}

export function banciwsInboxInput(institution: BanciwsInstitution): BanciwsInboxInput {
  return {
    tenant: institution.tenant,
    institutionId: institution.id,
    cui: institution.cui,
    zile: institution.zile,
    ...(institution.inboxCallbackUrl ? { callbackUrl: institution.inboxCallbackUrl } : {}),
  };
}

export async function ensureBanciwsInboxSchedules(client: Client, config: AppConfig, logger: Logger): Promise<string[]> {
  const ids: string[] = [];
  for (const institution of config.banciws.institutions) {
    if (institution.pollEveryMinutes <= 0) continue;
    const scheduleId = banciwsInboxScheduleId(institution);
    ids.push(scheduleId);
    try {
      await client.schedule.create({
        scheduleId,
        spec: { intervals: [{ every: `${institution.pollEveryMinutes} minutes` }] },
        action: {
          type: 'startWorkflow',
          workflowType: 'banciwsInbox',
          workflowId: `${institution.tenant}/banciws-inbox-poll/${institution.id}`,
          taskQueue: config.temporal.taskQueue,
          args: [banciwsInboxInput(institution)],
        },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
        memo: {
          description: `BANCIWS inbox of ${institution.id} (CUI ${institution.cui}): listaMesaje ${institution.zile}, new items downloaded once`,
        },
      });
      logger.info({ scheduleId }, 'schedule created');
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
  }
  return ids;
}
