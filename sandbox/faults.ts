import { STATUS_CODES } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Logger } from 'pino';
import { SandboxClock } from './clock';
import { gatewayLogonPage, wafRejectedPage } from './gateway-pages';
import type { SeededRandom } from './random';
import type { SandboxState } from './state';

/**
 * Fault injection: make the sandbox misbehave the way ANAF and its gateway do (slow
 * answers, 5xx, 429 bursts, WAF pages, answers lost after the request was processed),
 * on chosen routes, deterministically (seeded), so client retry logic can be tested.
 *
 * Every live rule whose route and method match is considered in order. A rule with
 * `errorRate` fires only on that fraction of its matches. A firing rule adds its latency,
 * may arm `resetAfterReceive` or `holdAnswer`, and gives the answer unless an earlier rule
 * already did (then it is skipped, not consumed). `times` counts firings; at 0 the rule is
 * removed. Delays (latency, a held answer's cap) run on the sandbox clock (clock.ts), so a
 * test moves the clock past them instead of waiting.
 */

const MAX_LATENCY_MS = 120_000;

export const faultRuleSchema = z
  .strictObject({
    /** A path prefix ("/TestOauth"), or a regular expression when it starts with "^", tested against path + query. */
    route: z.string().min(1),
    method: z.string().min(1).optional(),
    latencyMs: z.number().int().min(0).max(MAX_LATENCY_MS).optional(),
    /** 0..1: the fraction of matching requests this rule fires on (seeded draw). Alone it answers 500. */
    errorRate: z.number().min(0).max(1).optional(),
    status: z.number().int().min(100).max(599).optional(),
    body: z.string().optional(),
    contentType: z.string().min(1).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    /** The next N matching requests get 429 (then the rule expires). */
    burst429: z.number().int().min(1).optional(),
    /** Adds Retry-After to the answer; ANAF documents none, so by default there is none. */
    retryAfterSeconds: z.number().int().min(0).optional(),
    /** 'waf': F5 ASM "The requested URL was rejected" page; 'gateway': the APM logon page. Both 200 unless `status`. */
    html: z.enum(['waf', 'gateway']).optional(),
    /** Fires on the next N matching requests, then expires. Unlimited when absent. */
    times: z.number().int().min(1).optional(),
    /** Let the handler run, then destroy the socket: processed at the "server", answer lost. */
    resetAfterReceive: z.boolean().optional(),
    /**
     * Sandbox only (ANAF has no such switch; it plays an answer still on its way when the client
     * dies): let the handler run, then keep its answer until released (`release`, POST
     * /__sandbox/faults/release), for at most this many ms of the sandbox clock when a number,
     * or until the client goes away (then the answer is lost). Listed meanwhile by `held()`.
     */
    holdAnswer: z.union([z.literal(true), z.number().int().min(1).max(MAX_LATENCY_MS)]).optional(),
  })
  .superRefine((rule, ctx) => {
    if (rule.route.startsWith('^')) {
      try {
        new RegExp(rule.route);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['route'], message: `not a valid regular expression: ${(err as Error).message}` });
      }
    }
    if (rule.burst429 !== undefined) {
      for (const key of ['status', 'times', 'html'] as const) {
        if (rule[key] !== undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: `burst429 already sets the status and the count; drop ${key}` });
        }
      }
    }
    if (rule.holdAnswer !== undefined && rule.resetAfterReceive === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['holdAnswer'],
        message: 'an answer is either held or lost: drop resetAfterReceive or holdAnswer',
      });
    }
    const hasEffect =
      rule.latencyMs !== undefined ||
      rule.errorRate !== undefined ||
      rule.status !== undefined ||
      rule.body !== undefined ||
      rule.burst429 !== undefined ||
      rule.html !== undefined ||
      rule.resetAfterReceive === true ||
      rule.holdAnswer !== undefined;
    if (!hasEffect)
      ctx.addIssue({
        code: 'custom',
        message: 'the rule does nothing: give it latencyMs, errorRate, status, body, burst429, html, resetAfterReceive or holdAnswer',
      });
  });

export type FaultRule = z.input<typeof faultRuleSchema>;

export interface FaultRuleView extends FaultRule {
  id: number;
  /** Firings left before the rule expires; absent when unlimited. */
  remaining?: number;
  fired: number;
}

export class FaultRuleError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid fault rules: ${issues.join('; ')}`);
    this.name = 'FaultRuleError';
  }
}

export function parseFaultRules(input: unknown): FaultRule[] {
  const r = z.array(faultRuleSchema).safeParse(input);
  if (!r.success) throw new FaultRuleError(r.error.issues.map((i) => `${['rules', ...i.path].join('.')}: ${i.message}`));
  return r.data;
}

interface FaultAnswer {
  status: number;
  contentType: string;
  headers: Record<string, string>;
  body: string;
  effect: string;
}

export interface FaultPlan {
  latencyMs: number;
  resetAfterReceive: boolean;
  /** Keep the answer: true until released or the client leaves; a number caps it (ms of the sandbox clock). */
  holdAnswer?: true | number;
  answer?: FaultAnswer;
  /** Ids of the rules that fired. */
  fired: number[];
}

interface LiveRule {
  id: number;
  rule: FaultRule;
  matches: (method: string, url: string) => boolean;
  remaining: number | undefined;
  fired: number;
}

function compile(id: number, rule: FaultRule): LiveRule {
  const method = rule.method?.toUpperCase();
  const pattern = rule.route.startsWith('^') ? new RegExp(rule.route) : undefined;
  return {
    id,
    rule,
    matches: (m, url) => (!method || method === m.toUpperCase()) && (pattern ? pattern.test(url) : url.startsWith(rule.route)),
    remaining: rule.burst429 ?? rule.times,
    fired: 0,
  };
}

function givesAnswer(rule: FaultRule): boolean {
  return (
    rule.status !== undefined ||
    rule.body !== undefined ||
    rule.burst429 !== undefined ||
    rule.html !== undefined ||
    // errorRate with nothing else to do means "fail": a 500.
    (rule.errorRate !== undefined && rule.latencyMs === undefined && rule.resetAfterReceive !== true && rule.holdAnswer === undefined)
  );
}

function guessContentType(body: string): string {
  const trimmed = body.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      JSON.parse(body);
      return 'application/json; charset=utf-8';
    } catch {
      // not JSON after all
    }
  }
  return trimmed.startsWith('<') ? 'text/html; charset=utf-8' : 'text/plain; charset=utf-8';
}

/** Swallows whatever the handler answers and drops the connection once it is done. */
function loseAnswer(req: Request, res: Response): void {
  const socket = req.socket;
  res.flushHeaders = () => undefined;
  res.write = (() => true) as typeof res.write;
  res.end = (() => {
    socket.destroy();
    return res;
  }) as typeof res.end;
}

/** An answer the handler produced and a `holdAnswer` rule keeps back. */
export interface HeldAnswerView {
  id: number;
  method: string;
  /** Path and query, as requested. */
  url: string;
  /** The status the handler answered. */
  status: number;
  /** Sandbox-clock ms when the handler finished. */
  heldSince: number;
}

interface HeldAnswer extends HeldAnswerView {
  release: () => void;
  drop: () => void;
}

export interface FaultInjectorDeps {
  random: SeededRandom;
  state: SandboxState;
  logger: Logger;
  /** Times latency and held answers; a fresh real-time clock when absent. */
  clock?: SandboxClock;
}

export class FaultInjector {
  private rules: LiveRule[] = [];
  private nextId = 1;
  private readonly timers = new Set<() => void>();
  private readonly heldAnswers = new Map<number, HeldAnswer>();
  private nextHeldId = 1;
  private readonly clock: SandboxClock;

  constructor(private readonly deps: FaultInjectorDeps) {
    this.clock = deps.clock ?? new SandboxClock();
  }

  /** Replaces every rule. `seed` restarts the random sequence so errorRate draws repeat exactly. */
  set(rules: unknown, options: { seed?: number } = {}): FaultRuleView[] {
    const parsed = parseFaultRules(rules);
    if (options.seed !== undefined) this.deps.random.reseed(options.seed);
    this.rules = parsed.map((r) => compile(this.nextId++, r));
    return this.list();
  }

  add(rule: FaultRule): FaultRuleView {
    const [parsed] = parseFaultRules([rule]);
    const live = compile(this.nextId++, parsed as FaultRule);
    this.rules.push(live);
    return this.view(live);
  }

  list(): FaultRuleView[] {
    return this.rules.map((r) => this.view(r));
  }

  clear(): void {
    this.rules = [];
  }

  private view(r: LiveRule): FaultRuleView {
    return { ...r.rule, id: r.id, fired: r.fired, ...(r.remaining !== undefined ? { remaining: r.remaining } : {}) };
  }

  /** Decides, once and synchronously (so concurrent requests consume `times` in arrival order), what happens to a request. */
  plan(method: string, url: string): FaultPlan | undefined {
    let plan: FaultPlan | undefined;
    for (const live of this.rules) {
      if (!live.matches(method, url)) continue;
      const { rule } = live;
      if (rule.errorRate !== undefined && this.deps.random.next() >= rule.errorRate) continue;
      const answers = givesAnswer(rule);
      if (answers && plan?.answer) continue;
      plan ??= { latencyMs: 0, resetAfterReceive: false, fired: [] };
      plan.latencyMs += rule.latencyMs ?? 0;
      plan.resetAfterReceive ||= rule.resetAfterReceive === true;
      if (rule.holdAnswer !== undefined) plan.holdAnswer ??= rule.holdAnswer;
      if (answers) plan.answer = this.answerFor(rule);
      plan.fired.push(live.id);
      live.fired += 1;
      if (live.remaining !== undefined) live.remaining -= 1;
    }
    this.rules = this.rules.filter((r) => r.remaining === undefined || r.remaining > 0);
    return plan;
  }

  private answerFor(rule: FaultRule): FaultAnswer {
    const headers: Record<string, string> = { ...(rule.headers ?? {}) };
    if (rule.retryAfterSeconds !== undefined) headers['retry-after'] = String(rule.retryAfterSeconds);
    const typed = (status: number, body: string, effect: string, contentType?: string): FaultAnswer => ({
      status,
      body,
      effect,
      headers,
      contentType: rule.contentType ?? contentType ?? guessContentType(body),
    });
    if (rule.burst429 !== undefined) return typed(429, rule.body ?? 'Too Many Requests', 'burst429');
    if (rule.html === 'waf') {
      // Nineteen digits, like the support ids F5 prints.
      return typed(rule.status ?? 200, wafRejectedPage(this.deps.random.digits(19)), 'waf', 'text/html; charset=utf-8');
    }
    if (rule.html === 'gateway') return typed(rule.status ?? 200, gatewayLogonPage(), 'gateway', 'text/html; charset=utf-8');
    const status = rule.status ?? (rule.body !== undefined ? 200 : 500);
    return typed(status, rule.body ?? STATUS_CODES[status] ?? `HTTP ${status}`, rule.errorRate !== undefined ? 'errorRate' : 'status');
  }

  /** Runs before every non-admin route. */
  middleware(): RequestHandler {
    return (req, res, next) => {
      const plan = this.plan(req.method, req.originalUrl);
      if (!plan) return next();
      const { state, logger } = this.deps;
      logger.debug({ method: req.method, path: req.path, fired: plan.fired }, 'fault injected');
      if (plan.latencyMs > 0) state.countFault('latency');
      if (plan.resetAfterReceive) state.countFault('resetAfterReceive');
      if (plan.answer) state.countFault(plan.answer.effect);
      const proceed = () => {
        if (plan.resetAfterReceive) loseAnswer(req, res);
        if (plan.holdAnswer !== undefined) this.holdAnswer(req, res, plan.holdAnswer);
        const answer = plan.answer;
        if (!answer) return next();
        res.status(answer.status).set(answer.headers).type(answer.contentType).send(answer.body);
      };
      if (plan.latencyMs === 0) return proceed();
      const cancel = this.clock.after(plan.latencyMs, () => {
        this.timers.delete(cancel);
        proceed();
      });
      this.timers.add(cancel);
    };
  }

  /** Answers kept back by `holdAnswer` rules right now, oldest first. */
  held(): HeldAnswerView[] {
    return [...this.heldAnswers.values()].map(({ id, method, url, status, heldSince }) => ({ id, method, url, status, heldSince }));
  }

  /** Sends held answers (one by id, or all); returns how many were released. */
  release(id?: number): number {
    const chosen = [...this.heldAnswers.values()].filter((h) => id === undefined || h.id === id);
    for (const h of chosen) h.release();
    return chosen.length;
  }

  /**
   * Lets the handler write its answer into a buffer; once it ends, the answer waits in
   * `heldAnswers` until released, the cap on the sandbox clock passes, or the client goes away.
   */
  private holdAnswer(req: Request, res: Response, hold: true | number): void {
    const { write, end } = res;
    const calls: Array<() => void> = [];
    res.flushHeaders = () => undefined;
    res.write = ((...args: unknown[]) => {
      calls.push(() => (write as (...a: unknown[]) => boolean).apply(res, args));
      return true;
    }) as typeof res.write;
    res.end = ((...args: unknown[]) => {
      calls.push(() => (end as (...a: unknown[]) => Response).apply(res, args));
      this.keep(req, res, calls, hold);
      return res;
    }) as typeof res.end;
  }

  private keep(req: Request, res: Response, calls: Array<() => void>, hold: true | number): void {
    const id = this.nextHeldId++;
    let cancelCap: (() => void) | undefined;
    const forget = () => {
      cancelCap?.();
      res.off('close', onGone);
      this.heldAnswers.delete(id);
    };
    const onGone = () => {
      forget();
      this.deps.state.countFault('heldAnswerLost');
    };
    const release = () => {
      forget();
      // Back to the real methods (own properties shadowing the prototype's), then replay.
      delete (res as Partial<Response>).write;
      delete (res as Partial<Response>).end;
      delete (res as Partial<Response>).flushHeaders;
      for (const call of calls) call();
    };
    const drop = () => {
      forget();
      res.destroy();
    };
    this.heldAnswers.set(id, {
      id,
      method: req.method,
      url: req.originalUrl,
      status: res.statusCode,
      heldSince: this.clock.now(),
      release,
      drop,
    });
    this.deps.state.countFault('holdAnswer');
    res.once('close', onGone);
    if (hold !== true) cancelCap = this.clock.after(hold, release);
  }

  /** Drops pending latency timers and held answers so a closing sandbox does not keep the process alive. */
  close(): void {
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    for (const h of [...this.heldAnswers.values()]) h.drop();
  }
}
