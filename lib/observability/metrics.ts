import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * anaf-flow's own Prometheus series, in one registry that the worker (WORKER_METRICS_PORT)
 * and the API (GET /metrics) serve. Temporal's SDK metrics come from its Rust core
 * (see workers/metrics-server.ts). Labels never carry ids, CIFs, tenants or query strings:
 * every label has a small, fixed set of values.
 */
export const registry = new Registry();

let processMetrics = false;
/** Node process metrics (CPU, memory, event loop lag); once per process, by whoever serves /metrics. */
export function enableProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry });
}

const CALL_LABELS = ['host', 'endpoint', 'method', 'status'] as const;

export const plaintextPayloadsRefused = new Counter({
  name: 'anaf_flow_plaintext_payloads_refused_total',
  help: 'Unencrypted payloads a worker refused outside the sandbox (someone at the Temporal port, not our clients)',
  registers: [registry],
});

export const anafCalls = new Counter({
  name: 'anaf_calls_total',
  help: 'HTTP calls to ANAF by host, endpoint template, method and status (HTTP code, or transport_NOT_SENT / transport_ANSWER_LOST / too_large)',
  labelNames: CALL_LABELS,
  registers: [registry],
});

export const anafCallDuration = new Histogram({
  name: 'anaf_call_duration_seconds',
  help: 'Latency of HTTP calls to ANAF, until the whole answer was read',
  labelNames: CALL_LABELS,
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});

export const anafRateLimited = new Counter({
  name: 'anaf_rate_limited_total',
  help: 'HTTP 429 answers from ANAF, by host and endpoint template',
  labelNames: ['host', 'endpoint'] as const,
  registers: [registry],
});

/**
 * BANCIWS sits behind an F5 gateway whose session cookies expire; the BANCIWS transport
 * increments this each time it has to re-bootstrap the session (fetch the gateway's
 * challenge page and a fresh cookie jar) before a call can go through.
 */
export const anafF5Rebootstraps = new Counter({
  name: 'anaf_f5_rebootstraps_total',
  help: 'F5 gateway session re-bootstraps before BANCIWS calls, by host and reason',
  labelNames: ['host', 'reason'] as const,
  registers: [registry],
});

export const anafTokenRefreshes = new Counter({
  name: 'anaf_token_refreshes_total',
  help: 'OAuth token refreshes at logincert.anaf.ro by result (ok | failed) and failure type',
  labelNames: ['result', 'failure'] as const,
  registers: [registry],
});

export const lifecyclesFinished = new Counter({
  name: 'anaf_lifecycles_finished_total',
  help: 'Workflows (lifecycles) that ended on this worker, by service and outcome (AnafOutcome, or COMPLETED / FAILED / CANCELLED)',
  labelNames: ['service', 'outcome'] as const,
  registers: [registry],
});

export const anafBudget = new Gauge({
  name: 'anaf_budget_calls_per_minute',
  help: 'Configured ANAF call budget of a rate-limited task queue (enforced by the Temporal server across all workers)',
  labelNames: ['queue'] as const,
  registers: [registry],
});

/** Per-host calls made by this process over the last 60 s, in one-second buckets. */
const recentCalls = new Map<string, { second: number; counts: number[] }>();

function noteRecentCall(host: string, nowMs: number): void {
  const second = Math.floor(nowMs / 1000);
  const entry = recentCalls.get(host) ?? { second, counts: new Array<number>(60).fill(0) };
  advance(entry, second);
  entry.counts[second % 60]! += 1;
  recentCalls.set(host, entry);
}

function advance(entry: { second: number; counts: number[] }, second: number): void {
  for (let s = entry.second + 1; s <= Math.min(second, entry.second + 60); s++) entry.counts[s % 60] = 0;
  entry.second = Math.max(entry.second, second);
}

export const anafCallsLastMinute = new Gauge({
  name: 'anaf_calls_last_minute',
  help: 'ANAF calls made by this process in the last 60 seconds, by host (sum over workers = budget in use)',
  labelNames: ['host'] as const,
  registers: [registry],
  collect() {
    const second = Math.floor(Date.now() / 1000);
    for (const [host, entry] of recentCalls) {
      advance(entry, second);
      this.set(
        { host },
        entry.counts.reduce((a, b) => a + b, 0),
      );
    }
  },
});

/**
 * Lifecycles waiting for a person (AnafNeedsAttention = true, still running), as visibility counts
 * them: one query per scrape at most every 30 s, so each worker reports the same figure (take
 * max(), not sum()). Nothing until a worker calls `countNeedsAttentionWith`.
 */
let needsAttentionCount: (() => Promise<number>) | undefined;
let needsAttentionAt = 0;
export function countNeedsAttentionWith(count: () => Promise<number>): void {
  needsAttentionCount = count;
}

export const lifecyclesNeedingAttention = new Gauge({
  name: 'anaf_lifecycles_needing_attention',
  help: 'Running lifecycles that need a person (AnafNeedsAttention = true), from visibility; every worker reports the same count',
  registers: [registry],
  async collect() {
    if (!needsAttentionCount || Date.now() - needsAttentionAt < 30_000) return;
    needsAttentionAt = Date.now();
    try {
      this.set(await needsAttentionCount());
    } catch {
      // Visibility away: the last count stays.
    }
  },
});

/** What the stall watchdog (workers/stall-watchdog.ts) sees at each sample: the signs before a worker exits wedged. */
export const workerWorkflowBacklogAge = new Gauge({
  name: 'anaf_worker_workflow_backlog_age_seconds',
  help: "Age of the oldest workflow task waiting on this worker's workflow task queue, as the server reports it",
  registers: [registry],
});

export const workerWorkflowPollAge = new Gauge({
  name: 'anaf_worker_workflow_poll_age_seconds',
  help: 'Since this worker last polled its workflow task queue, as the server saw it (-1: not listed among the pollers)',
  registers: [registry],
});

export const workerStallSuspicions = new Counter({
  name: 'anaf_worker_stall_suspicions_total',
  help: 'Watchdog samples that found this worker wedged (two in a row make it exit with code 75 for a restart)',
  registers: [registry],
});

export const httpRequests = new Counter({
  name: 'anaf_flow_http_requests_total',
  help: 'API requests by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

/**
 * BANCIWS receipts whose Data_mesaj is no calendar minute, seen while reconciling a lost upload
 * (activities/banciws findBanciwsUpload): such a receipt cannot be ruled out by its date, so while
 * ANAF lists it every lost answer of the institution goes to an operator (docs/banciws.md).
 */
export const banciwsUndatedReceipts = new Counter({
  name: 'anaf_flow_banciws_undated_receipts_total',
  help: 'BANCIWS receipts with an unreadable Data_mesaj seen by a reconciliation (each sends the lost answer to an operator), by institution',
  labelNames: ['institution'] as const,
  registers: [registry],
});

/** Untrusted XML the API refused to read (api/xml-parse-pool.ts): `reason` document (its own caps) or tenant / overall (load). */
export const xmlParseRefusals = new Counter({
  name: 'anaf_flow_xml_parse_refusals_total',
  help: 'Documents the API refused to read: code XML_TOO_COMPLEX / XML_PARSE_TIMEOUT (reason document) or TOO_MANY_PARSES (reason tenant or overall: load, answered 429)',
  labelNames: ['code', 'reason'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'anaf_flow_http_request_duration_seconds',
  help: 'API request latency by method and route template',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

const ID_SEGMENT = /^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|RO\d+|(?=.*\d)[A-Za-z0-9_-]{16,})$/i;

/**
 * The path of an ANAF URL as a template: numeric, UUID-like and long token-like segments
 * (CIFs, upload indexes, days) become `:id`; the query string is dropped.
 * `https://api.anaf.ro/prod/FCTEL/rest/stareMesaj?id_incarcare=5001` → `/prod/FCTEL/rest/stareMesaj`.
 */
export function endpointTemplate(url: string): string {
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    return 'unparseable';
  }
  return (
    pathname
      .split('/')
      .map((segment) => (ID_SEGMENT.test(decodeURIComponentSafe(segment)) ? ':id' : segment))
      .join('/') || '/'
  );
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unparseable';
  }
}

/** Records one ANAF call; `anafFetch` is the only caller, so every ANAF call is counted exactly once. */
export function recordAnafCall(call: { url: string; method: string; status: string; durationSeconds: number }): void {
  const host = hostOf(call.url);
  const endpoint = endpointTemplate(call.url);
  const labels = { host, endpoint, method: call.method, status: call.status };
  anafCalls.inc(labels);
  anafCallDuration.observe(labels, call.durationSeconds);
  if (call.status === '429') anafRateLimited.inc({ host, endpoint });
  noteRecentCall(host, Date.now());
}

export async function metricsText(): Promise<string> {
  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = registry.contentType;

/** `Authorization: Bearer <METRICS_TOKEN>` when a token is configured; compared in constant time. */
export function metricsRequestAllowed(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const expected = createHash('sha256').update(`Bearer ${token}`).digest();
  const given = createHash('sha256')
    .update(authorization ?? '')
    .digest();
  return timingSafeEqual(expected, given);
}
