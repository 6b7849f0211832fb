/**
 * What the chaos suite checks beyond "ended, not lost, uploaded once": that a lifecycle which
 * adopted an index from ANAF's listing adopted its own invoice's, and that a FAILED one failed
 * on a final answer ANAF documents rather than on something the product should have survived.
 */
import type { Client } from '@temporalio/client';
import type { EfacturaState } from '../../sandbox/efactura/state';
import type { SubmissionView } from '../../workflows/efactura/types';

/**
 * Failure types (activities/anaf/failures.ts) that are ANAF's documented final word, so a
 * lifecycle ending FAILED on one is ANAF's verdict, not a fault the product gave in to:
 * - AnafBadRequest: HTTP 400 with ANAF's message (e.g. "CIF introdus nu este valid");
 * - AnafError: ANAF's `{eroare, titlu}` answer (e.g. descarcare "Nu exista mesaj pentru id_descarcare",
 *   "Nu aveti dreptul de descarcare").
 * Everything else (5xx, resets, timeouts, truncated archives, gateway pages, 429s) is a
 * transient fault the chaos suite injects on purpose: ending FAILED on one fails the run.
 */
export const DOCUMENTED_FINAL_ANAF_ANSWERS: ReadonlySet<string> = new Set(['AnafBadRequest', 'AnafError']);

/** How long reading one history may take: without a deadline it waited forever on a Temporal that had gone. */
const HISTORY_DEADLINE_MS = 15_000;

/** The type of the last activity failure in a workflow's history ("Timeout" for a timeout), if any. */
export async function lastActivityFailureType(client: Client, workflowId: string): Promise<string | undefined> {
  const history = await client.withDeadline(Date.now() + HISTORY_DEADLINE_MS, () => client.workflow.getHandle(workflowId).fetchHistory());
  for (const event of [...(history.events ?? [])].reverse()) {
    const failure = event.activityTaskFailedEventAttributes?.failure;
    if (failure) return failure.applicationFailureInfo?.type ?? failure.cause?.applicationFailureInfo?.type ?? undefined;
    if (event.activityTaskTimedOutEventAttributes) return 'Timeout';
  }
  return undefined;
}

/** For a lifecycle that took an index from ANAF's listing: why that index is not its invoice's, or undefined when it is. */
export function adoptedIndexMismatch(
  view: SubmissionView,
  sandbox: EfacturaState,
  invoice: { supplierCif: string; number: string; issueDate: string },
): string | undefined {
  if (!view.decisions.some((d) => d.decision === 'ADOPTED_LISTED_INDEX')) return undefined;
  const record = view.uploadIndex ? sandbox.upload(view.uploadIndex) : undefined;
  if (!record) return `adopted index ${view.uploadIndex ?? '(none)'} is no upload the sandbox knows`;
  const found = { supplierCif: record.supplierCif, number: record.number, issueDate: record.issueDate };
  if (found.supplierCif === invoice.supplierCif && found.number === invoice.number && found.issueDate === invoice.issueDate)
    return undefined;
  return `adopted index ${record.index} is invoice ${JSON.stringify(found)}, not ${JSON.stringify(invoice)}`;
}
