/**
 * Every workflow the worker registers. Workers bundle this file; keep it free of I/O.
 *
 * Each workflow's module is required when that workflow runs, not whenever any workflow runs.
 * The SDK evaluates workflow modules afresh for every run (so module state stays per run), and
 * plain re-exports made every e-Factura lifecycle evaluate the OAuth, e-Transport and BANCIWS
 * code as well: ≈ 1.5 ms of worker CPU per run (bench/workflow-cost.ts, bench/RESULTS.md). The
 * require is synchronous, so a workflow's body starts exactly when it did before and no command
 * moves; the modules themselves are the same, checked by the same lint rules.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- the lazy loaders below, and nothing else */
import type * as BanciwsInbox from './banciws/inbox';
import type * as BanciwsMessage from './banciws/message';
import type * as BanciwsUploadTurns from './banciws/upload-turns';
import type * as ConnectivityCheck from './connectivity-check';
import type * as EfacturaInbox from './efactura/inbox';
import type * as EfacturaReads from './efactura/reads';
import type * as EfacturaSubmission from './efactura/submission';
import type * as EtransportDeclaration from './etransport/declaration';
import type * as EtransportLookup from './etransport/lookup';
import type * as OauthAuthorization from './oauth/authorization';
import type * as OauthAuthorizationRequest from './oauth/authorization-request';
import type * as OauthClientRegistry from './oauth/client-registry';
import type * as OauthMaintenance from './oauth/maintenance';
import type * as Organization from './organization';

/**
 * The workflow `name` from the module `load` gives, loaded on its first call in a run. The
 * function keeps the workflow's name (clients that start a workflow by function use it).
 */
function onCall<F extends (...args: never[]) => unknown>(name: string, load: () => F): F {
  const run = (...args: Parameters<F>) => load()(...args);
  return Object.defineProperty(run, 'name', { value: name }) as unknown as F;
}

const modules = {
  banciwsInbox: () => require('./banciws/inbox') as typeof BanciwsInbox,
  banciwsMessage: () => require('./banciws/message') as typeof BanciwsMessage,
  banciwsUploadTurns: () => require('./banciws/upload-turns') as typeof BanciwsUploadTurns,
  connectivityCheck: () => require('./connectivity-check') as typeof ConnectivityCheck,
  efacturaInbox: () => require('./efactura/inbox') as typeof EfacturaInbox,
  efacturaReads: () => require('./efactura/reads') as typeof EfacturaReads,
  efacturaSubmission: () => require('./efactura/submission') as typeof EfacturaSubmission,
  etransportDeclaration: () => require('./etransport/declaration') as typeof EtransportDeclaration,
  etransportLookup: () => require('./etransport/lookup') as typeof EtransportLookup,
  oauthAuthorization: () => require('./oauth/authorization') as typeof OauthAuthorization,
  oauthAuthorizationRequest: () => require('./oauth/authorization-request') as typeof OauthAuthorizationRequest,
  oauthClientRegistry: () => require('./oauth/client-registry') as typeof OauthClientRegistry,
  oauthMaintenance: () => require('./oauth/maintenance') as typeof OauthMaintenance,
  organization: () => require('./organization') as typeof Organization,
};

export const connectivityCheck = onCall('connectivityCheck', () => modules.connectivityCheck().connectivityCheck);
export const organization = onCall('organization', () => modules.organization().organization);
export const oauthAuthorization = onCall('oauthAuthorization', () => modules.oauthAuthorization().oauthAuthorization);
export const oauthAuthorizationRequest = onCall(
  'oauthAuthorizationRequest',
  () => modules.oauthAuthorizationRequest().oauthAuthorizationRequest,
);
export const oauthRefreshSweep = onCall('oauthRefreshSweep', () => modules.oauthMaintenance().oauthRefreshSweep);
export const oauthTest = onCall('oauthTest', () => modules.oauthMaintenance().oauthTest);
export const oauthClientRegistry = onCall('oauthClientRegistry', () => modules.oauthClientRegistry().oauthClientRegistry);
export const efacturaSubmission = onCall('efacturaSubmission', () => modules.efacturaSubmission().efacturaSubmission);
export const efacturaMessages = onCall('efacturaMessages', () => modules.efacturaReads().efacturaMessages);
export const efacturaPdf = onCall('efacturaPdf', () => modules.efacturaReads().efacturaPdf);
export const efacturaSignature = onCall('efacturaSignature', () => modules.efacturaReads().efacturaSignature);
export const efacturaValidation = onCall('efacturaValidation', () => modules.efacturaReads().efacturaValidation);
export const efacturaInboxItem = onCall('efacturaInboxItem', () => modules.efacturaInbox().efacturaInboxItem);
export const efacturaInboxSync = onCall('efacturaInboxSync', () => modules.efacturaInbox().efacturaInboxSync);
export const etransportDeclaration = onCall('etransportDeclaration', () => modules.etransportDeclaration().etransportDeclaration);
export const etransportLookup = onCall('etransportLookup', () => modules.etransportLookup().etransportLookup);
export const banciwsMessage = onCall('banciwsMessage', () => modules.banciwsMessage().banciwsMessage);
export const banciwsInbox = onCall('banciwsInbox', () => modules.banciwsInbox().banciwsInbox);
export const banciwsInboxItem = onCall('banciwsInboxItem', () => modules.banciwsInbox().banciwsInboxItem);
export const banciwsUploadTurns = onCall('banciwsUploadTurns', () => modules.banciwsUploadTurns().banciwsUploadTurns);
