import { ApplicationFailure, condition, patched, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { OAuthAnafActivities, OAuthOrchestrationActivities } from '../../activities/oauth';
import { failureMessage } from '../shared/anaf-failures';
import { ANAF_PRIORITY } from '../shared/anaf-priorities';
import { anafTaskQueueFor } from '../../lib/temporal/task-queues';
import { current, type Lifecycle, record, view } from './authorization';
import { cifRefusedAtCallSignal, forgetCompanyUpdate, linkCompanyUpdate } from './definitions';
import { emit, noteCifRefusedAtCall } from './events';
import { LINK_CHANGED } from '../organization';
import { authorizationIdOf, type LinkCompanyRequest, type LinkCompanyResult, type OAuthScope, scopesOf } from './types';

/**
 * The companies an authorization serves (issue 16): new handlers, a start-up step gated on the new
 * init fields, and the re-read of a link forgotten while in flight (patch oauth-link-reread-after-forget).
 */

export const CIF_NOT_COVERED = 'CifNotCovered';
/** ANAF answered the coverage check with something that proves nothing: not linked, try again later. */
export const ANAF_CHECK_INCONCLUSIVE = 'AnafCheckInconclusive';

function companyActivities() {
  const anaf = proxyActivities<OAuthAnafActivities>({
    taskQueue: anafTaskQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '60 seconds',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
    priority: { priorityKey: ANAF_PRIORITY.READ },
  });
  const local = proxyActivities<OAuthOrchestrationActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
  });
  return {
    checkCifCoverage: anaf.checkCifCoverage,
    linkOrganizationAuthorization: local.linkOrganizationAuthorization,
    readOrganizationLink: local.readOrganizationLink,
  };
}

/**
 * A forgetCompany that arrived while this sign-in's link of the same company was under way (the
 * link landed, was read back as ours, then a DELETE or another link unlinked it and told us to
 * forget before this workflow took the activity's result) is not lost: the link is read again.
 */
export const PATCH_LINK_REREAD_AFTER_FORGET = 'oauth-link-reread-after-forget';
/** Reads of the link while forgets keep arriving; past them the company is not listed (LinkChanged). */
const LINK_REREADS = 3;

/** How many forgetCompany updates each (CIF, scope) got in this run: handler state only, no history. */
const forgetsByLifecycle = new WeakMap<Lifecycle, Map<string, number>>();
const pairKey = (cif: string, scope: OAuthScope) => `${scope} ${cif}`;
function forgetsOf(lc: Lifecycle, cif: string, scope: OAuthScope): number {
  return forgetsByLifecycle.get(lc)?.get(pairKey(cif, scope)) ?? 0;
}
function countForget(lc: Lifecycle, cif: string, scope: OAuthScope): void {
  const counts = forgetsByLifecycle.get(lc) ?? new Map<string, number>();
  counts.set(pairKey(cif, scope), forgetsOf(lc, cif, scope) + 1);
  forgetsByLifecycle.set(lc, counts);
}

/**
 * The link as this sign-in may list it: what the link activity read back, unless a forget for the
 * pair came in since the activity was scheduled. Then the organization is read again, as long as
 * forgets keep coming: a forget from the DELETE (organization gone) or a later link leaves the
 * company unlisted, a stale one (sent by an older relink that landed before ours) leaves it
 * listed, as the organization still names us. Undefined: it kept changing, not listed.
 */
async function linkAfterForgets(
  lc: Lifecycle,
  acts: ReturnType<typeof companyActivities>,
  { cif, scope, forgetsBefore }: { cif: string; scope: OAuthScope; forgetsBefore: number },
  readBack: string | null | undefined,
): Promise<{ linkedNow: string | null | undefined; organizationDeleted?: true } | undefined> {
  const authorizationId = authorizationIdOf(lc.state.init);
  let seen = forgetsBefore;
  let now: { linkedNow: string | null | undefined; organizationDeleted?: true } = { linkedNow: readBack };
  for (let reads = 0; now.linkedNow === authorizationId && forgetsOf(lc, cif, scope) !== seen; reads++) {
    // Older histories took the result as it was read back, whatever forget came in meanwhile.
    if (!patched(PATCH_LINK_REREAD_AFTER_FORGET)) return now;
    if (reads === LINK_REREADS) return undefined;
    seen = forgetsOf(lc, cif, scope);
    now = await acts.readOrganizationLink({ tenant: lc.state.init.tenant, cif, scope });
  }
  return now;
}

const sameCompany = (cif: string, scope: OAuthScope) => (c: { cif: string; scope: OAuthScope }) => c.cif === cif && c.scope === scope;

/**
 * Check at ANAF, then link the organization (an activity with the Temporal client, retried): the
 * authorization lists a company only once its organization's link is set, so a failure anywhere
 * leaves nothing half-linked, and doing it again is harmless.
 */
async function linkCompany(lc: Lifecycle, { cif, scope, expectedAuthorizationId }: LinkCompanyRequest): Promise<LinkCompanyResult> {
  const { state } = lc;
  const acts = companyActivities();
  const already = (state.companies ?? []).some(sameCompany(cif, scope));
  if (!already) {
    const check = await acts.checkCifCoverage({ authorizationWorkflowId: workflowInfo().workflowId, scope, cif });
    if (!check.covered && check.inconclusive) {
      record(lc, 'CIF_CHECK_INCONCLUSIVE', `${scope} ${cif}: ${check.reason}`);
      throw ApplicationFailure.create({
        type: ANAF_CHECK_INCONCLUSIVE,
        message: `CIF ${cif} (${scope}) not linked: ${check.reason}`,
        nonRetryable: true,
      });
    }
    if (!check.covered) {
      record(lc, 'CIF_REFUSED', `${scope} ${cif}: ${check.reason}`);
      emit(lc, 'authorization.cif_refused', { cif, scope, reason: check.reason, source: 'link' });
      throw ApplicationFailure.create({
        type: CIF_NOT_COVERED,
        message: `ANAF refused this authorization for CIF ${cif} (${scope}): ${check.reason}`,
        nonRetryable: true,
      });
    }
  }
  const authorizationId = authorizationIdOf(state.init);
  const expected = expectedAuthorizationId !== undefined ? { expectedAuthorizationId } : {};
  const forgetsBefore = forgetsOf(lc, cif, scope);
  const linked = await acts.linkOrganizationAuthorization({ tenant: state.init.tenant, cif, scope, authorizationId, ...expected });
  const settled = await linkAfterForgets(lc, acts, { cif, scope, forgetsBefore }, linked.linkedNow);
  // Absent in older histories' results: listed as before. null: unlinked since ours landed.
  if (settled === undefined || (settled.linkedNow !== undefined && settled.linkedNow !== authorizationId)) {
    // Another link, or an unlink, landed after ours and made us forget the company (maybe before this point): not listed.
    const now = supersededBy(settled);
    state.companies = (state.companies ?? []).filter((c) => !sameCompany(cif, scope)(c));
    record(lc, 'CIF_LINK_SUPERSEDED', `${scope} ${cif}: ${now}`);
    throw ApplicationFailure.create({
      type: LINK_CHANGED,
      message: `CIF ${cif} (${scope}) was ${now} meanwhile`,
      nonRetryable: true,
    });
  }
  if (!(state.companies ?? []).some(sameCompany(cif, scope))) {
    state.companies = [...(state.companies ?? []), { cif, scope, linkedAt: new Date(Date.now()).toISOString() }];
    record(lc, 'CIF_LINKED', `${scope} ${cif}`);
  }
  return { cif, scope, ...(linked.previousAuthorizationId ? { previousAuthorizationId: linked.previousAuthorizationId } : {}) };
}

/** What replaced this sign-in's link, in words. */
function supersededBy(settled: { linkedNow: string | null | undefined; organizationDeleted?: true } | undefined): string {
  if (settled === undefined) return `unlinked or linked again each of ${LINK_REREADS} times it was read`;
  if (settled.organizationDeleted) return 'unlinked and its organization deleted';
  return settled.linkedNow === null ? 'unlinked' : `linked to ${settled.linkedNow}`;
}

/** Why this authorization cannot serve a company now, or undefined. */
function unusable(lc: Lifecycle): string | undefined {
  if (current(lc) === null || lc.state.status === 'EXPIRED') return `this authorization is ${lc.state.status}`;
  return undefined;
}

export function handleCompanies(lc: Lifecycle): void {
  const { state } = lc;
  setHandler(linkCompanyUpdate, (req) => linkCompany(lc, req), {
    validator: ({ scope }) => {
      if (!scopesOf(state.init).includes(scope)) {
        throw ApplicationFailure.create({
          type: 'ScopeNotAuthorized',
          message: `this authorization was given for ${scopesOf(state.init).join(', ')}, not ${scope}`,
        });
      }
      const why = unusable(lc);
      if (why) throw ApplicationFailure.create({ type: 'AuthorizationNotUsable', message: why });
    },
  });
  setHandler(forgetCompanyUpdate, ({ cif, scope }) => {
    countForget(lc, cif, scope);
    const before = state.companies?.length ?? 0;
    state.companies = (state.companies ?? []).filter((c) => !sameCompany(cif, scope)(c));
    if (state.companies.length !== before) record(lc, 'CIF_UNLINKED', `${scope} ${cif}`);
    return view(lc);
  });
  // A signal (no answer awaited by the ANAF call that saw the refusal); new handler, no stored history has it.
  setHandler(cifRefusedAtCallSignal, (refusal) => noteCifRefusedAtCall(lc, refusal));
}

/**
 * The companies the sign-in listed: once the tokens are in, each is checked and linked for every
 * scope of the authorization; one ANAF refused is recorded (CIF_REFUSED) and left unlinked.
 */
export async function linkPendingCompanies(lc: Lifecycle): Promise<void> {
  const { state } = lc;
  await condition(() => current(lc) !== null || state.status === 'REVOKED');
  while (state.pendingCompanies?.length && current(lc) !== null) {
    const cif = state.pendingCompanies[0]!;
    for (const scope of scopesOf(state.init)) {
      try {
        await linkCompany(lc, { cif, scope });
      } catch (err) {
        // CIF_REFUSED is recorded by linkCompany; anything else (organization gone, ANAF down for minutes) too.
        if (!(err instanceof ApplicationFailure && err.type === CIF_NOT_COVERED))
          record(lc, 'CIF_LINK_FAILED', `${scope} ${cif}: ${failureMessage(err)}`);
      }
    }
    state.pendingCompanies.shift();
  }
}
