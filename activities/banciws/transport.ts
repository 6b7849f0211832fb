import { Agent } from 'undici';
import { CookieJar } from 'tough-cookie';
import { type AnafResponse, anafFetch, redactUrl } from '../anaf/http';
import {
  type AnafProblem,
  detectGatewaySessionLoss,
  detectProblem,
  type GatewaySessionLoss,
  isGatewayNonceHop,
  isHtml,
  redirectTarget,
} from '../anaf/failures';
import type { Logger } from '../../lib/observability/logger';
import { anafF5Rebootstraps } from '../../lib/observability/metrics';
import { type BanciwsCredentialPaths, tlsOptionsFor } from './credentials';

/**
 * One F5 APM session per institution and worker process, shared by every BANCIWS call.
 *
 * The gateway's login is a redirect dance: no session cookie → 302 /my.policy (cookies
 * MRHSession, LastMRH_Session, F5_ST); at /my.policy it asks for the client certificate by
 * renegotiating TLS mid-connection; then 302 /my.policy_nonce?nonce=…, a rewritten
 * MRHSession and 302 back to where we started. Afterwards the cookie jar alone carries the
 * session. We bootstrap with a harmless listaMesaje POST, capturing cookies on every hop,
 * and send real calls without following redirects: a POST that met the gateway never
 * reached the service, so it is replayed once after a new session — and only then. Only the
 * APM's own signals count (failures.ts, detectGatewaySessionLoss): an HTML 5xx page may have
 * come after the service got the call, so it is returned to the caller, never replayed.
 *
 * Re-bootstraps are single-flight: the first call that sees the session gone starts one,
 * every other call waits for it, and calls that were answered by the dead session after a
 * newer one exists simply replay. The jar is a credential: it stays in memory, unlogged.
 */

export interface BanciwsSessionOptions {
  /** https://…/BANCIWS/rest, no trailing slash. */
  baseUrl: string;
  credentials: BanciwsCredentialPaths;
  /** Which institution, for messages and logs. */
  label?: string;
  /** Bound on one whole bootstrap (every hop). Default 30 s. */
  bootstrapTimeoutMs?: number;
  /**
   * Highest TLS version offered (BANCIWS_TLS_MAX_VERSION). Default TLS 1.2: the gateway asks for
   * the client certificate by renegotiating, which TLS 1.3 does not have (and Node cannot answer
   * TLS 1.3 post-handshake authentication), so a 1.3 connection never presents the certificate.
   */
  tlsMaxVersion?: 'TLSv1.2' | 'TLSv1.3';
  logger?: Logger;
}

export interface SessionStats {
  bootstraps: number;
  replays: number;
  nonceHops: number;
  calls: number;
}

/**
 * A redirect during the gateway login pointed away from the configured origin: refused and not
 * followed (the client-certificate agent and the session cookies go to financiart.anaf.ro only).
 */
export class BanciwsRedirectRefused extends Error {
  constructor(
    readonly label: string,
    readonly target: string,
  ) {
    super(`${label}: the gateway redirected to ${target}, outside the configured BANCIWS origin; not followed`);
    this.name = 'BanciwsRedirectRefused';
  }
}

/** Why a session was (re-)established: the first call, or the loss that ended the previous one. Label of anaf_f5_rebootstraps_total. */
export type BootstrapReason = 'INITIAL' | GatewaySessionLoss['reason'];

/** The gateway did not let the call through; `problem` is what failures.ts turns into an ApplicationFailure. */
export class BanciwsGatewayError extends Error {
  constructor(readonly problem: AnafProblem) {
    super(problem.message);
    this.name = 'BanciwsGatewayError';
  }
}

const MAX_HOPS = 8;
const BOOTSTRAP_PROBE = 'listaMesaje';

function setCookies(res: AnafResponse): string[] {
  const raw = res.headers['set-cookie'];
  return raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
}

export class BanciwsSession {
  private readonly agent: Agent;
  private jar = new CookieJar();
  /** Bumped by each successful bootstrap; 0 = never established. */
  private generation = 0;
  private bootstrapping: Promise<void> | undefined;
  readonly stats: SessionStats = { bootstraps: 0, replays: 0, nonceHops: 0, calls: 0 };
  private readonly label: string;
  private readonly host: string;
  private readonly origin: string;

  constructor(
    private readonly options: BanciwsSessionOptions,
    private readonly probeBody: () => Promise<string>,
  ) {
    this.label = options.label ?? 'BANCIWS';
    this.host = new URL(options.baseUrl).host;
    this.origin = new URL(options.baseUrl).origin;
    this.agent = new Agent({
      connect: { ...tlsOptionsFor(options.credentials, this.label), maxVersion: options.tlsMaxVersion ?? 'TLSv1.2', timeout: 10_000 },
      keepAliveTimeout: 30_000,
      connections: 32,
    });
  }

  urlOf(method: string): string {
    return `${this.options.baseUrl}/${method}`;
  }

  /** POSTs one BANCIWS request through the session; answers the service's response (anything the gateway said is handled or thrown). */
  async post(method: string, xml: string, timeoutMs = 120_000): Promise<AnafResponse> {
    this.stats.calls += 1;
    const url = this.urlOf(method);
    if (this.generation === 0) await this.renew(0, 'INITIAL');
    const first = await this.attempt(url, xml, timeoutMs);
    if (!('loss' in first)) return first.res;
    // The gateway took the call, the service never saw it: one new session, one replay.
    await this.renew(first.generation, first.loss.reason);
    this.stats.replays += 1;
    const second = await this.attempt(url, xml, timeoutMs);
    if (!('loss' in second)) return second.res;
    throw new BanciwsGatewayError({
      kind: 'SESSION_LOST',
      status: second.res.status,
      reason: second.loss.reason,
      message: `${this.label}: the gateway refused the call again right after a new session: ${second.loss.message}`,
    });
  }

  /** Forget the session (tests, the benchmark): the next call bootstraps. */
  forget(): void {
    this.jar = new CookieJar();
    this.generation = 0;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async send(
    jar: CookieJar,
    method: 'GET' | 'POST',
    url: string,
    body: string | undefined,
    timeoutMs: number,
  ): Promise<AnafResponse> {
    const cookie = await jar.getCookieString(url);
    return anafFetch({
      method,
      url,
      dispatcher: this.agent,
      timeoutMs,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/xml; charset=utf-8' } : {}),
        accept: 'application/xml',
        ...(cookie ? { cookie } : {}),
      },
      ...(body !== undefined ? { body } : {}),
    });
  }

  private async keepCookies(jar: CookieJar, res: AnafResponse, url: string): Promise<void> {
    for (const c of setCookies(res)) await jar.setCookie(c, url, { ignoreError: true });
  }

  /** One call on the current session, following revalidation (nonce) hops. */
  private async attempt(
    url: string,
    xml: string,
    timeoutMs: number,
  ): Promise<{ res: AnafResponse; generation: number } | { res: AnafResponse; generation: number; loss: GatewaySessionLoss }> {
    const generation = this.generation;
    const jar = this.jar;
    let res = await this.send(jar, 'POST', url, xml, timeoutMs);
    for (let hops = 0; isGatewayNonceHop(res, url); hops++) {
      if (hops >= MAX_HOPS) break;
      // Revalidation: follow the nonce hop (cookies rewritten), then the gateway sends us back: send the call again.
      this.stats.nonceHops += 1;
      await this.keepCookies(jar, res, url);
      const hop = this.pinned(redirectTarget(res, url)!).toString();
      const back = await this.send(jar, 'GET', hop, undefined, timeoutMs);
      await this.keepCookies(jar, back, hop);
      const loss = detectGatewaySessionLoss(back, hop);
      if (loss) return { res: back, generation, loss };
      res = await this.send(jar, 'POST', url, xml, timeoutMs);
    }
    const loss = detectGatewaySessionLoss(res, url);
    if (loss) return { res, generation, loss };
    // Only a live session's answers may touch the jar; a dead one's fresh cookies would clobber the new session's.
    if (generation === this.generation) await this.keepCookies(jar, res, url);
    return { res, generation };
  }

  /** Every redirect we follow stays on the configured origin (scheme, host and port). */
  private pinned(target: URL): URL {
    if (target.origin !== this.origin) throw new BanciwsRedirectRefused(this.label, redactUrl(target.toString()));
    return target;
  }

  /** Single-flight: a call that saw generation `seen` fail makes sure a newer session exists. */
  private async renew(seen: number, reason: BootstrapReason): Promise<void> {
    if (this.generation > seen) return;
    this.bootstrapping ??= this.bootstrap(reason).finally(() => {
      this.bootstrapping = undefined;
    });
    await this.bootstrapping;
  }

  private async bootstrap(reason: BootstrapReason): Promise<void> {
    const timeoutMs = this.options.bootstrapTimeoutMs ?? 30_000;
    // Every login started (single-flight: one per loss however many calls saw it), successful or not.
    anafF5Rebootstraps.inc({ host: this.host, reason });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new BanciwsGatewayError({
              kind: 'SESSION_LOST',
              status: 0,
              reason: 'STATUS',
              message: `${this.label}: the gateway login did not finish within ${timeoutMs} ms`,
            }),
          ),
        timeoutMs,
      );
    });
    try {
      const jar = await Promise.race([this.login(timeoutMs), deadline]);
      this.jar = jar;
      this.generation += 1;
      this.stats.bootstraps += 1;
      this.options.logger?.info({ institution: this.label, bootstraps: this.stats.bootstraps }, 'BANCIWS gateway session established');
    } finally {
      clearTimeout(timer);
    }
  }

  /** Walks the redirect chain with a fresh jar; resolves with the jar once the probe gets the service's answer. */
  private async login(timeoutMs: number): Promise<CookieJar> {
    const jar = new CookieJar();
    const probeUrl = this.urlOf(BOOTSTRAP_PROBE);
    const probe = await this.probeBody();
    let res = await this.send(jar, 'POST', probeUrl, probe, timeoutMs);
    let current = probeUrl;
    for (let hop = 0; hop < MAX_HOPS; hop++) {
      await this.keepCookies(jar, res, current);
      const redirect = redirectTarget(res, current);
      const target = redirect && this.pinned(redirect);
      if (!target) {
        const loss = detectGatewaySessionLoss(res, current);
        if (!loss && (res.status >= 500 || isHtml(res, res.text()))) {
          // Not the APM's "no", but no proof of a session either (a 5xx, the WAF page). The call itself was not sent.
          const problem = detectProblem(res);
          throw new BanciwsGatewayError(
            problem?.kind === 'GATEWAY_REJECTED'
              ? problem
              : {
                  kind: 'SESSION_LOST',
                  status: res.status,
                  reason: 'STATUS',
                  message: `${this.label}: gateway login failed: the probe at ${redactUrl(current)} was answered HTTP ${res.status}`,
                },
          );
        }
        if (!loss) return jar;
        throw new BanciwsGatewayError(
          loss.reason === 'CERTIFICATE_NOT_PRESENTED' || current.endsWith('/my.policy')
            ? {
                kind: 'CERTIFICATE_REFUSED',
                status: res.status,
                message: `${this.label}: the gateway did not accept the client certificate (${loss.message})`,
              }
            : {
                kind: 'SESSION_LOST',
                status: res.status,
                reason: loss.reason,
                message: `${this.label}: gateway login failed at ${redactUrl(current)}: ${loss.message}`,
              },
        );
      }
      if (target.pathname === '/vdesk/hangup.php3') {
        throw new BanciwsGatewayError({
          kind: 'CERTIFICATE_REFUSED',
          status: res.status,
          message: `${this.label}: the gateway hung up at ${redactUrl(current)}: the client certificate was not presented or not accepted`,
        });
      }
      current = target.toString();
      // Back where we started: the session is up; the probe is sent again as a POST and must reach the service.
      res =
        target.pathname === new URL(probeUrl).pathname
          ? await this.send(jar, 'POST', probeUrl, probe, timeoutMs)
          : await this.send(jar, 'GET', current, undefined, timeoutMs);
      if (target.pathname === new URL(probeUrl).pathname) current = probeUrl;
    }
    throw new BanciwsGatewayError({
      kind: 'SESSION_LOST',
      status: res.status,
      reason: 'STATUS',
      message: `${this.label}: more than ${MAX_HOPS} gateway redirects while logging in`,
    });
  }
}
