/**
 * What a test asserts on after driving the sandbox: counters only, plain JSON so the
 * same object is served at GET /__sandbox/state. Stores with real data (OAuth grants,
 * later e-Factura messages) live in their modules and register a reset hook here.
 */

export interface OAuthCounters {
  authorizePages: number;
  approvals: number;
  denials: number;
  codesIssued: number;
  /** Successful authorization_code grants. */
  codeExchanges: number;
  /** A spent code presented again (its tokens are revoked). */
  codeReuses: number;
  expiredCodes: number;
  accessTokensIssued: number;
  refreshTokensIssued: number;
  /** Successful refresh_token grants. */
  refreshes: number;
  refreshesByClient: Record<string, number>;
  refreshesByFamily: Record<string, number>;
  /** Successful revoke requests that found a token. */
  revocations: number;
  /** Token families revoked for any reason (revoke, code reuse, refresh reuse). */
  familiesRevoked: number;
  /** Rotated-out refresh tokens presented again and refused. */
  rejectedReuses: number;
  /** Revoke requests bounced to the gateway's /my.policy. */
  gatewayRedirects: number;
  /** Error answers of the token and revoke endpoints, by OAuth error code. */
  errors: Record<string, number>;
  bearerAccepted: number;
  bearerRejected: number;
}

export interface SandboxCounters {
  /** Every non-admin request, keyed "METHOD /path" (no query), faulted or not. */
  requests: Record<string, number>;
  /** Fault effects applied, by effect name. */
  faults: Record<string, number>;
  oauth: OAuthCounters;
}

function freshCounters(): SandboxCounters {
  return {
    requests: {},
    faults: {},
    oauth: {
      authorizePages: 0,
      approvals: 0,
      denials: 0,
      codesIssued: 0,
      codeExchanges: 0,
      codeReuses: 0,
      expiredCodes: 0,
      accessTokensIssued: 0,
      refreshTokensIssued: 0,
      refreshes: 0,
      refreshesByClient: {},
      refreshesByFamily: {},
      revocations: 0,
      familiesRevoked: 0,
      rejectedReuses: 0,
      gatewayRedirects: 0,
      errors: {},
      bearerAccepted: 0,
      bearerRejected: 0,
    },
  };
}

/** A request the sandbox has received and not yet finished with (sandbox only: for test supervisors). */
export interface OpenRequest {
  method: string;
  path: string;
  /** The client's port: which process holds the connection (devkit/proc.ts pidHoldingConnection). */
  remotePort: number | undefined;
  /** Set when the exchange ends: whether the whole answer was written before the connection closed. */
  answered?: boolean;
}

export function bump(record: Record<string, number>, key: string, by = 1): void {
  record[key] = (record[key] ?? 0) + by;
}

export class SandboxState {
  private current: SandboxCounters = freshCounters();
  private readonly resetHooks: Array<() => void> = [];
  private readonly open = new Set<OpenRequest>();

  /** Live counters: read them after the request you care about has been answered. */
  get counters(): SandboxCounters {
    return this.current;
  }

  requestsTo(method: string, path: string): number {
    return this.current.requests[`${method.toUpperCase()} ${path}`] ?? 0;
  }

  countRequest(method: string, path: string): void {
    bump(this.current.requests, `${method.toUpperCase()} ${path}`);
  }

  /** Requests to `method path` in flight now, e.g. uploads a worker is waiting on (the chaos suite kills it then). */
  inFlight(method: string, path: string): OpenRequest[] {
    const m = method.toUpperCase();
    return [...this.open].filter((r) => r.method === m && r.path === path);
  }

  /** Tracks a request from arrival until its exchange ends; call the returned function then. */
  openRequest(method: string, path: string, remotePort: number | undefined): (answered: boolean) => void {
    const request: OpenRequest = { method: method.toUpperCase(), path, remotePort };
    this.open.add(request);
    return (answered) => {
      request.answered = answered;
      this.open.delete(request);
    };
  }

  countFault(effect: string): void {
    bump(this.current.faults, effect);
  }

  /** Modules with stores of their own forget them when the sandbox is reset. */
  onReset(hook: () => void): void {
    this.resetHooks.push(hook);
  }

  reset(): void {
    this.current = freshCounters();
    for (const hook of this.resetHooks) hook();
  }

  snapshot(): SandboxCounters {
    return structuredClone(this.current);
  }
}
