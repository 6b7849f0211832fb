/**
 * The ANAF sandbox: a local stand-in for logincert.anaf.ro and api.anaf.ro (and later the
 * BANCIWS host) that every test and `npm run dev` talk to instead of ANAF.
 */
export { createSandbox, BUILTIN_MODULES, type FaultControls, type RunningSandbox, type SandboxOptions } from './server';
export type { SandboxContext, SandboxModule, SandboxModuleFactory } from './module';
export { SandboxClock } from './clock';
export { SandboxState, type OAuthCounters, type SandboxCounters } from './state';
export { FaultRuleError, faultRuleSchema, type FaultRule, type FaultRuleView } from './faults';
export {
  ANAF_ISSUER,
  DEFAULT_CERTIFICATE,
  DEFAULT_CLIENT,
  DEFAULT_OAUTH_OPTIONS,
  OAuthIdp,
  bearerOf,
  requireBearer,
  type BearerIdentity,
  type OAuthClientRegistration,
  type OAuthOptions,
  type SimulatedCertificate,
  type TokenInspection,
  type TokenResponse,
} from './oauth';
export { HELLO_PATH } from './testoauth';
export { AUTHORIZE_PATH, DECISION_PATH, REVOKE_PATH, TOKEN_PATH } from './oauth/paths';
