import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import type { Ledger, LedgerView, OperatorAction } from './ledger';

/**
 * The operator's resolve, taken only while the lifecycle waits for a decision: as an Update
 * whose validator refuses it otherwise (a typed refusal the API answers 409), and as the signal
 * the Web UI and older histories send. A decision kept while nothing waits for one would be
 * applied to some later, unrelated lost answer, so a signal that arrives then is dropped
 * (behind the service's patch) and the drop recorded in `decisions`. Workflow-safe: no I/O.
 */

/** Failure types of a refused resolve shared by the services; each names its own "finished" and "not stuck". */
export const RESOLVE_ACTION_NOT_ALLOWED = 'RESOLVE_ACTION_NOT_ALLOWED';
export const RESOLVE_ALREADY_PENDING = 'RESOLVE_ALREADY_PENDING';

/** The stages where any decision is awaited (reconcile looks at it each round; NEEDS_OPERATOR waits for it). */
const STUCK_STAGES: ReadonlySet<string> = new Set(['NEEDS_OPERATOR', 'RECONCILING']);

export interface ResolveRules<V extends LedgerView, A extends OperatorAction> {
  ledger: Ledger<V, A>;
  update: UpdateDefinition<V, [A]>;
  signal: SignalDefinition<[A]>;
  /** What the lifecycle is called in a refusal ("declaration", "exchange"). */
  what: string;
  /** The lifecycle has ended (or is closing): nothing will take a decision any more. */
  finished(): boolean;
  codes: { finished: string; notStuck: string };
  /** While it waits for an authorization, ABANDON is awaited too (services with an authorization). */
  abandonWhileWaitingForAuthorization: boolean;
  /** The service's patched('<service>-resolve-only-when-stuck'): a signal arriving when nothing waits for it is dropped instead of kept. */
  dropStraySignal(): boolean;
  /** Records a dropped signal in the service's decisions. */
  recordDropped(detail: string): void;
}

export interface ResolveRefusal {
  type: string;
  message: string;
}

/** Why a decision cannot be taken now; undefined when the lifecycle waits for one. */
export function resolveRefusal<V extends LedgerView, A extends OperatorAction>(
  rules: ResolveRules<V, A>,
  action: A,
): ResolveRefusal | undefined {
  const { ledger, what, codes } = rules;
  const stage = ledger.view.stage;
  if (rules.finished()) return { type: codes.finished, message: `The ${what} has already ended` };
  if (ledger.pending !== undefined)
    return { type: RESOLVE_ALREADY_PENDING, message: `An operator decision (${ledger.pending.action}) is already waiting to be applied` };
  if (STUCK_STAGES.has(stage)) return undefined;
  if (stage === 'WAITING_FOR_AUTHORIZATION' && rules.abandonWhileWaitingForAuthorization) {
    return action.action === 'ABANDON'
      ? undefined
      : { type: RESOLVE_ACTION_NOT_ALLOWED, message: `While the ${what} waits for an authorization only ABANDON is accepted` };
  }
  const accepted = `NEEDS_OPERATOR or RECONCILING${rules.abandonWhileWaitingForAuthorization ? ', or ABANDON in WAITING_FOR_AUTHORIZATION' : ''}`;
  return { type: codes.notStuck, message: `Nothing waits for an operator's decision (stage ${stage}); resolve applies in ${accepted}` };
}

/** The resolve Update (refused unless stuck) and the resolve signal (dropped unless stuck, where patched). */
export function registerResolveHandlers<V extends LedgerView, A extends OperatorAction>(rules: ResolveRules<V, A>): void {
  const { ledger } = rules;
  setHandler(
    rules.update,
    (action) => {
      ledger.pending = action;
      ledger.touch();
      return ledger.view;
    },
    {
      validator: (action) => {
        const refusal = resolveRefusal(rules, action) ?? reuploadWhileListingRead(rules, action);
        if (refusal) throw ApplicationFailure.create({ type: refusal.type, message: refusal.message, nonRetryable: true });
      },
    },
  );
  setHandler(rules.signal, (action) => {
    const refusal = resolveRefusal(rules, action);
    if (refusal && rules.dropStraySignal()) {
      // A signal cannot be refused; kept, it would be applied at some later, unrelated moment.
      rules.recordDropped(`resolve signal (${action.action}${action.note ? `: ${action.note}` : ''}) dropped: ${refusal.message}`);
      return;
    }
    ledger.pending = action;
  });
}

/**
 * The Update's alone (validators do not run on replay; the signal keeps its recorded behaviour):
 * while the listing is being read the upload may be at ANAF, and an operator's re-send then could
 * file twice. The listing decides a re-send itself once it proves the upload absent; an operator
 * may adopt or abandon meanwhile, or re-upload once the lifecycle waits in NEEDS_OPERATOR.
 */
function reuploadWhileListingRead<V extends LedgerView, A extends OperatorAction>(
  rules: ResolveRules<V, A>,
  action: A,
): ResolveRefusal | undefined {
  if (action.action !== 'REUPLOAD' || rules.ledger.view.stage !== 'RECONCILING') return undefined;
  return {
    type: RESOLVE_ACTION_NOT_ALLOWED,
    message: `While ANAF's listing is read for the lost upload a re-send could file it twice: adopt an index or abandon now, or re-upload once the ${rules.what} waits for an operator`,
  };
}
