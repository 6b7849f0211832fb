import { log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { cifRefusedAtCallSignal } from '../../workflows/oauth/definitions';
import type { AuthorizationKey } from '../../workflows/oauth/types';
import { CIF_NOT_COVERED_TEXT, excerptOf } from './cif-refusal-text';

/**
 * ANAF refusing a CIF at call time (the person who signed in lost their rights in SPV for that
 * company): the authorization that served the call is told, so it can push
 * `authorization.cif_refused` to its webhook. Recognised by ANAF's own words only
 * (CIF_NOT_COVERED_TEXT, as the link-time check), never by a status code.
 */

/** Telling the authorization never holds the ANAF call's activity: it runs beside it, bounded by this. */
const REPORT_DEADLINE_MS = 5_000;

/** ANAF's refusal in a call's answer: an upload's or a stareMesaj's `errors` (e-Factura, e-Transport). */
export function refusalInAnswer(value: unknown): string | undefined {
  const errors = (value as { errors?: unknown } | null | undefined)?.errors;
  if (!Array.isArray(errors)) return undefined;
  const refusal = errors.find((e): e is string => typeof e === 'string' && CIF_NOT_COVERED_TEXT.test(e));
  return refusal === undefined ? undefined : excerptOf(refusal, CIF_NOT_COVERED_TEXT);
}

/** ANAF's refusal in a call's failure: a listing's `eroare`, e-Transport's `Errors[]`, carried in the message. */
export function refusalInFailure(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : undefined;
  return message !== undefined && CIF_NOT_COVERED_TEXT.test(message) ? excerptOf(message, CIF_NOT_COVERED_TEXT) : undefined;
}

/**
 * Best effort: a signal to the authorization workflow (it keeps one event per CIF per day), with a
 * deadline; a failure is logged (no token: the CIF, the workflow id and the error's name) and dropped.
 */
export async function reportCifRefused(client: Client, source: AuthorizationKey & { workflowId: string }, reason: string): Promise<void> {
  try {
    await client.withDeadline(Date.now() + REPORT_DEADLINE_MS, () =>
      client.workflow.getHandle(source.workflowId).signal(cifRefusedAtCallSignal, { cif: source.cif, scope: source.scope, reason }),
    );
  } catch (err) {
    try {
      log.warn('the authorization was not told of a CIF refused at call time', {
        workflowId: source.workflowId,
        cif: source.cif,
        error: err instanceof Error ? err.name : 'unknown',
      });
    } catch {
      // Outside an activity's context there is no activity logger: nothing more to do.
    }
  }
}
