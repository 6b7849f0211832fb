import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { certificateNotPresentedPage, hangupPage } from './gateway-pages';
import type { BanciwsSandboxOptions } from './options';

/**
 * The F5 BIG-IP APM in front of BANCIWS, as the captured login trace shows it: a request
 * without a live session is answered 302 /my.policy with fresh MRHSession,
 * LastMRH_Session and F5_ST cookies; /my.policy asks for the client certificate by TLS
 * renegotiation (for real: the server renegotiates the connection the request came on);
 * an accepted certificate gets 302 /my.policy_nonce?nonce=… and a rewritten MRHSession,
 * then 302 back to the original URL. Without a certificate: the "Certificatul nu a fost
 * prezentat" page (200) or the hang-up redirect. Sessions die after an idle time, and a
 * live one is sometimes sent through a nonce hop again (revalidation).
 */

export interface ApmSession {
  id: string;
  state: 'pending' | 'verified' | 'active';
  /** Where to send the client once the session is up. */
  landing: string;
  nonce?: string;
  /** From the certificate: OU is the institution's CUI. */
  cui?: string;
  lastUsedAt: number;
  calls: number;
}

export interface GatewayCounters {
  sessionsStarted: number;
  /** TLS renegotiations asking for the client certificate. */
  certificateRequests: number;
  certificatesAccepted: number;
  certificatesRefused: number;
  nonceHops: number;
  revalidations: number;
  expired: number;
  /** Calls to BANCIWS the gateway answered itself (no live session). */
  intercepted: number;
}

const fresh = (): GatewayCounters => ({
  sessionsStarted: 0,
  certificateRequests: 0,
  certificatesAccepted: 0,
  certificatesRefused: 0,
  nonceHops: 0,
  revalidations: 0,
  expired: 0,
  intercepted: 0,
});

const token = (bytes = 16) => randomBytes(bytes).toString('hex');

function cookiesOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function firstOu(subject: unknown): string | undefined {
  const ou = (subject as { OU?: string | string[] } | undefined)?.OU;
  const value = Array.isArray(ou) ? ou[0] : ou;
  return value && /^[1-9][0-9]{1,9}$/.test(value) ? value : undefined;
}

export class F5Gateway {
  readonly sessions = new Map<string, ApmSession>();
  counters = fresh();

  constructor(
    private readonly options: BanciwsSandboxOptions,
    private readonly now: () => number,
    private readonly logger: Logger,
  ) {}

  reset(): void {
    this.sessions.clear();
    this.counters = fresh();
  }

  /** Ends every session, as F5 does after its inactivity timeout. */
  expireAll(): number {
    const n = this.sessions.size;
    this.sessions.clear();
    this.counters.expired += n;
    return n;
  }

  /** 302 with the cookies F5 sets on every hop; the connection is closed after it, as F5 does. */
  private redirect(res: Response, location: string, session?: ApmSession): void {
    if (session) {
      res.append('set-cookie', `LastMRH_Session=${session.id.slice(0, 8)};path=/;secure`);
      res.append('set-cookie', `MRHSession=${session.id};path=/;secure`);
      res.append(
        'set-cookie',
        `F5_ST=1z1z1z${Math.floor(this.now() / 1000)}z${Math.floor(this.options.sessionIdleMs / 1000)};path=/;secure`,
      );
    }
    res.status(302).set({ server: 'BigIP', location, connection: 'close', 'content-length': '0' }).end();
  }

  private startSession(landing: string): ApmSession {
    const session: ApmSession = { id: token(), state: 'pending', landing, lastUsedAt: this.now(), calls: 0 };
    this.sessions.set(session.id, session);
    this.counters.sessionsStarted += 1;
    return session;
  }

  private rotate(session: ApmSession): void {
    this.sessions.delete(session.id);
    session.id = token();
    this.sessions.set(session.id, session);
  }

  private live(req: Request): ApmSession | undefined {
    const id = cookiesOf(req).MRHSession;
    const session = id ? this.sessions.get(id) : undefined;
    if (!session) return undefined;
    if (this.now() - session.lastUsedAt > this.options.sessionIdleMs) {
      this.sessions.delete(session.id);
      this.counters.expired += 1;
      return undefined;
    }
    return session;
  }

  /** /my.policy, /my.policy_nonce, /vdesk/hangup.php3. */
  router(): Router {
    const router = express.Router();
    router.get('/my.policy', (req, res) => {
      const session = this.live(req);
      if (!session) return this.redirect(res, '/my.policy', this.startSession('/'));
      if (session.state === 'active') return this.redirect(res, session.landing, session);
      if (session.state === 'verified') return this.redirect(res, `/my.policy_nonce?nonce=${session.nonce}`, session);
      this.askForCertificate(req, res, session);
    });
    router.get('/my.policy_nonce', (req, res) => {
      const session = this.live(req);
      const nonce = typeof req.query.nonce === 'string' ? req.query.nonce : '';
      if (!session || !session.nonce || session.nonce !== nonce)
        return this.redirect(res, '/my.policy', this.startSession(session?.landing ?? '/'));
      this.counters.nonceHops += 1;
      delete session.nonce;
      // Logging in rewrites MRHSession; a revalidation keeps it, so calls in flight on the session stay valid.
      if (session.state === 'verified') this.rotate(session);
      session.state = 'active';
      session.lastUsedAt = this.now();
      this.redirect(res, session.landing, session);
    });
    router.get('/vdesk/hangup.php3', (_req, res) => {
      res.status(200).set({ server: 'BigIP', connection: 'close' }).type('html').send(hangupPage());
    });
    return router;
  }

  /** The certificate is asked for on this very connection: TLS renegotiation with requestCert. */
  private askForCertificate(req: Request, res: Response, session: ApmSession): void {
    const socket = req.socket as TLSSocket;
    this.counters.certificateRequests += 1;
    // On TLS 1.3 Node both returns false and calls back with an error: the page goes out once.
    let answered = false;
    const refused = (why: string) => {
      if (answered) return;
      answered = true;
      this.counters.certificatesRefused += 1;
      this.sessions.delete(session.id);
      this.logger.debug({ why }, 'F5 sandbox: client certificate refused');
      if (this.options.noCertificate === 'hangup') return this.redirect(res, '/vdesk/hangup.php3');
      res.status(200).set({ server: 'BigIP', connection: 'close' }).type('html').send(certificateNotPresentedPage());
    };
    const started = socket.renegotiate({ requestCert: true, rejectUnauthorized: false }, (err) => {
      if (err || answered) return refused(`renegotiation failed: ${err?.message ?? 'refused by TLS'}`);
      const peer = socket.getPeerCertificate();
      const cui = firstOu(peer?.subject);
      if (!socket.authorized || !cui)
        return refused(socket.authorizationError ? String(socket.authorizationError) : 'no certificate or no OU');
      this.counters.certificatesAccepted += 1;
      session.cui = cui;
      session.state = 'verified';
      session.nonce = token(12);
      this.rotate(session);
      this.redirect(res, `/my.policy_nonce?nonce=${session.nonce}`, session);
    });
    if (started === false) refused('renegotiation refused by TLS');
  }

  /** In front of /BANCIWS: lets a live session through (res.locals.banciwsCui), answers everything else itself. */
  guard(): RequestHandler {
    return (req, res, next) => {
      const session = this.live(req);
      if (!session || session.state !== 'active') {
        this.counters.intercepted += 1;
        return this.redirect(res, `${this.options.offOriginRedirect ?? ''}/my.policy`, this.startSession(req.originalUrl));
      }
      session.lastUsedAt = this.now();
      session.calls += 1;
      if (this.options.revalidateEvery > 0 && session.calls % this.options.revalidateEvery === 0) {
        this.counters.revalidations += 1;
        this.counters.intercepted += 1;
        // One nonce per revalidation round, however many calls meet it at once.
        session.nonce ??= token(12);
        session.landing = req.originalUrl;
        return this.redirect(res, `/my.policy_nonce?nonce=${session.nonce}`, session);
      }
      res.locals.banciwsCui = session.cui;
      next();
    };
  }
}
