import { STATUS_CODES } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import type { Logger } from 'pino';
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
 * may arm `resetAfterReceive`, and gives the answer unless an earlier rule already did
 * (then it is skipped, not consumed). `times` counts firings; at 0 the rule is removed.
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
    const hasEffect =
      rule.latencyMs !== undefined ||
      rule.errorRate !== undefined ||
      rule.status !== undefined ||
      rule.body !== undefined ||
      rule.burst429 !== undefined ||
      rule.html !== undefined ||
      rule.resetAfterReceive === true;
    if (!hasEffect) ctx.addIssue({ code: 'custom', message: 'the rule does nothing: give it latencyMs, errorRate, status, body, burst429, html or resetAfterReceive' });
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
    (rule.errorRate !== undefined && rule.latencyMs === undefined && rule.resetAfterReceive !== true)
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

export interface FaultInjectorDeps {
  random: SeededRandom;
  state: SandboxState;
  logger: Logger;
}

export class FaultInjector {
  private rules: LiveRule[] = [];
  private nextId = 1;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: FaultInjectorDeps) {}

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
        const answer = plan.answer;
        if (!answer) return next();
        res.status(answer.status).set(answer.headers).type(answer.contentType).send(answer.body);
      };
      if (plan.latencyMs === 0) return proceed();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        proceed();
      }, plan.latencyMs);
      this.timers.add(timer);
    };
  }

  /** Drops pending latency timers so a closing sandbox does not keep the process alive. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}
