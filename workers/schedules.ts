import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import type { AppConfig } from '../lib/config/config';
import type { Logger } from '../lib/observability/logger';

export const OAUTH_SWEEP_SCHEDULE_ID = 'anaf-flow-oauth-refresh-sweep';

/**
 * Schedules every deployment needs, created at worker start-up. Creating one that exists
 * is a no-op, so any number of workers may start at once; an operator's edits in the
 * Web UI (pause, new time) are kept.
 */
export async function ensureSchedules(client: Client, config: AppConfig, logger: Logger): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: OAUTH_SWEEP_SCHEDULE_ID,
      spec: { calendars: [{ hour: 3, minute: 17 }], timezone: 'Europe/Bucharest' },
      action: {
        type: 'startWorkflow',
        workflowType: 'oauthRefreshSweep',
        workflowId: 'system/oauth-refresh-sweep',
        taskQueue: config.temporal.taskQueue,
        args: [],
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
      memo: { description: 'Daily check of every OAuth authorization; refreshes the late or stuck ones.' },
    });
    logger.info({ scheduleId: OAUTH_SWEEP_SCHEDULE_ID }, 'schedule created');
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}
