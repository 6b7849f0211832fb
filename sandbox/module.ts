import type { Router } from 'express';
import type { Logger } from 'pino';
import type { SandboxClock } from './clock';
import type { FaultInjector } from './faults';
import type { OAuthIdp } from './oauth/idp';
import type { SeededRandom } from './random';
import type { SandboxState } from './state';

/** What every sandbox module gets: shared clock, counters, randomness, and the IdP to check bearers against. */
export interface SandboxContext {
  clock: SandboxClock;
  state: SandboxState;
  random: SeededRandom;
  logger: Logger;
  faults: FaultInjector;
  idp: OAuthIdp;
}

/**
 * One simulated ANAF service (OAuth IdP, TestOauth, e-Factura, e-Transport, …), mounted
 * side by side on the sandbox's single Express app.
 */
export interface SandboxModule {
  name: string;
  /** Routes under /__sandbox/: never faulted, never counted. */
  admin?(router: Router): void;
  /** The service's own routes (ANAF's paths): counted and subject to fault rules. */
  routes(router: Router): void;
  /** Stops the module's timers when the sandbox closes. */
  close?(): void;
}

export type SandboxModuleFactory = (ctx: SandboxContext) => SandboxModule;
