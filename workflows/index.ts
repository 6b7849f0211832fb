// Every workflow the worker registers. Workers bundle this file; keep it free of I/O.
export { connectivityCheck } from './connectivity-check';
export { organization } from './organization';
export { oauthAuthorization } from './oauth/authorization';
export { oauthAuthorizationRequest } from './oauth/authorization-request';
export { oauthRefreshSweep, oauthTest } from './oauth/maintenance';
export { oauthClientRegistry } from './oauth/client-registry';
export { efacturaSubmission } from './efactura/submission';
export { efacturaMessages, efacturaPdf, efacturaSignature, efacturaValidation } from './efactura/reads';
export { efacturaInboxItem, efacturaInboxSync } from './efactura/inbox';
export { etransportDeclaration } from './etransport/declaration';
export { etransportLookup } from './etransport/lookup';
export { banciwsMessage } from './banciws/message';
export { banciwsInbox, banciwsInboxItem } from './banciws/inbox';
export { banciwsUploadTurns } from './banciws/upload-turns';
