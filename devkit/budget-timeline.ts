/**
 * The budget scenario's per-second timeline (`npm run bench -- budget`): ANAF calls and 429s as
 * the sandbox counts them, the machine's CPU and each process group's (Temporal per service,
 * PostgreSQL, the bench's workers, the bench process with its sandbox and API, the cluster's own
 * idle product processes, everything else), the ANAF queue's backlog as the server reports it,
 * and the bench workers' ANAF-queue pollers and busy activity slots from their SDK metrics. So a
 * window under the budget can be told apart: pollers waiting while work waits (the server not
 * dispatching), the CPU saturated, or the workers' slots full.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import type { EfacturaCounters } from '../sandbox/efactura/state';

/**
 * The calls ANAF's per-minute limit counts, as the sandbox's e-Factura side counts them: every
 * request its limiter admits (the REST calls and the signature check, validaresemnatura) and
 * every one it refuses with a 429. The signature check is a lifecycle's fourth call since issue 14
 * item 10; leaving it out made a minute in which many lifecycles finished look under the budget.
 */
export function anafCallsCounted(c: EfacturaCounters): number {
  return (
    c.uploads +
    c.uploadsRejected +
    c.stareQueries +
    c.downloads +
    c.simpleLists +
    c.paginatedLists +
    c.validations +
    c.transformations +
    c.signatureValidations +
    c.rateLimited
  );
}

export interface TimelineRow {
  /** Seconds since the workers started, at the end of this row's second. */
  t: number;
  /** The wall clock then (ms), the sandbox's clock: its fixed minutes are ANAF's. */
  at: number;
  /** Every call ANAF's per-minute limit counts (anafCallsCounted). */
  calls: number;
  /** Of them, signature checks (validaresemnatura), which a lifecycle makes once it is accepted. */
  signatureChecks: number;
  rateLimited: number;
  /** Busy share of the whole machine this second, in % of one core (2 vCPUs: up to 200). */
  machine: number;
  /** The machine's 1-minute load average then. */
  load: number;
  /** Per process group, in % of one core. */
  groups: Record<string, number>;
  /** The ANAF queue's approximate backlog, the last answer the server gave (-1 before any). */
  backlog: number;
  /** ANAF-queue activity polls open at the server, summed over the bench's workers (-1: unknown). */
  pollers: number;
  /** ANAF-queue activity slots in use, summed over the bench's workers (-1: unknown). */
  slotsUsed: number;
}

/** Which group a process's CPU counts to: by its command line, or by an ancestor's. */
function groupOf(cmdline: string, comm: string): string | undefined {
  const service = /\bstart\0--service\0(\w+)/.exec(cmdline);
  if (service) return `temporal-${service[1]}`;
  if (cmdline.includes('server\0start-dev')) return 'temporal';
  if (comm === 'postgres') return 'postgres';
  if (cmdline.includes('scripts/cluster/supervisor.ts')) return 'cluster-product';
  return undefined;
}

/** CPU ticks per group between samples; `roots` name processes (and their descendants) the command line cannot. */
export class ProcessGroups {
  private readonly cmdlines = new Map<number, { cmdline: string; comm: string }>();
  /** Ticks per pid at the last sample: deltas per process, since a process that exits takes its total with it. */
  private last = new Map<number, number>();

  constructor(private readonly roots: Map<number, string>) {}

  /** Ticks each group used since the last call (a process born meanwhile counts whole). */
  sample(): Map<string, number> {
    const procs = new Map<number, { ppid: number; ticks: number }>();
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const raw = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
        procs.set(Number(entry), { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
      } catch {
        // exited meanwhile
      }
    }
    const first = this.last.size === 0;
    const used = new Map<string, number>();
    for (const [pid, p] of procs) {
      const delta = first ? 0 : p.ticks - (this.last.get(pid) ?? 0);
      const group = this.classify(pid, procs);
      used.set(group, (used.get(group) ?? 0) + Math.max(0, delta));
    }
    this.last = new Map([...procs].map(([pid, p]) => [pid, p.ticks]));
    for (const pid of this.cmdlines.keys()) if (!procs.has(pid)) this.cmdlines.delete(pid);
    return used;
  }

  private classify(pid: number, procs: Map<number, { ppid: number }>): string {
    for (let at: number | undefined = pid, hops = 0; at && hops < 20; at = procs.get(at)?.ppid, hops++) {
      const named = this.roots.get(at) ?? groupOf(...this.identity(at));
      if (named) return named;
    }
    return 'other';
  }

  private identity(pid: number): [string, string] {
    let known = this.cmdlines.get(pid);
    if (!known) {
      const read = (f: string) => {
        try {
          return fs.readFileSync(`/proc/${pid}/${f}`, 'utf8');
        } catch {
          return '';
        }
      };
      known = { cmdline: read('cmdline'), comm: read('comm').trim() };
      this.cmdlines.set(pid, known);
    }
    return [known.cmdline, known.comm];
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat), idle and iowait not busy. */
export function machineTicks(): { busy: number; total: number } {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - fields[3]! - fields[4]!, total };
}

/** Sum of a Prometheus gauge over the lines whose labels contain every `labels` pair. */
export function promSum(text: string, metric: string, labels: Record<string, string>): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`) && !line.startsWith(`${metric} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** One worker's ANAF-queue activity pollers and busy slots from its SDK (core) metrics endpoint. */
async function workerQueueState(metricsUrl: string, taskQueue: string): Promise<{ pollers: number; slotsUsed: number } | undefined> {
  try {
    const res = await request(metricsUrl, { headersTimeout: 800, bodyTimeout: 800 });
    const text = await res.body.text();
    const pollers = promSum(text, 'temporal_num_pollers', { poller_type: 'activity_task', task_queue: taskQueue });
    const slotsUsed = promSum(text, 'temporal_worker_task_slots_used', { worker_type: 'ActivityWorker', task_queue: taskQueue });
    return pollers === undefined || slotsUsed === undefined ? undefined : { pollers, slotsUsed };
  } catch {
    return undefined;
  }
}

export interface TimelineSources {
  /** ANAF calls and 429s so far, as the sandbox counts them. */
  counters(): { calls: number; signatureChecks: number; rateLimited: number };
  /** The ANAF queue's backlog (DescribeTaskQueue); may be slow under load, so one is in flight at a time. */
  backlog(): Promise<number>;
  /** The bench workers' SDK metrics endpoints (TEMPORAL_METRICS_BIND). */
  workerMetricsUrls: string[];
  anafTaskQueue: string;
  groups: ProcessGroups;
}

/** Samples every second until stopped; the rows hold per-second deltas. */
export function startTimeline(sources: TimelineSources): { stop(): TimelineRow[] } {
  const rows: TimelineRow[] = [];
  const started = performance.now();
  sources.groups.sample();
  let last = { counters: sources.counters(), machine: machineTicks() };
  let backlog = -1;
  let queueState = { pollers: -1, slotsUsed: -1 };
  let asking = false;
  const ask = async () => {
    if (asking) return;
    asking = true;
    try {
      const states = await Promise.all(sources.workerMetricsUrls.map((u) => workerQueueState(u, sources.anafTaskQueue)));
      queueState = states.every((s) => s)
        ? { pollers: states.reduce((a, s) => a + s!.pollers, 0), slotsUsed: states.reduce((a, s) => a + s!.slotsUsed, 0) }
        : { pollers: -1, slotsUsed: -1 };
      backlog = await sources.backlog().catch(() => backlog);
    } finally {
      asking = false;
    }
  };
  const timer = setInterval(() => {
    const now = { counters: sources.counters(), machine: machineTicks() };
    const dt = now.machine.total - last.machine.total || 1;
    const cores = os.cpus().length;
    const share = (ticks: number) => (100 * ticks * cores) / dt;
    const groups: Record<string, number> = {};
    for (const [g, ticks] of sources.groups.sample()) groups[g] = Math.round(share(ticks));
    rows.push({
      t: (performance.now() - started) / 1000,
      at: Date.now(),
      calls: now.counters.calls - last.counters.calls,
      signatureChecks: now.counters.signatureChecks - last.counters.signatureChecks,
      rateLimited: now.counters.rateLimited - last.counters.rateLimited,
      machine: Math.round(share(now.machine.busy - last.machine.busy)),
      load: os.loadavg()[0]!,
      groups,
      backlog,
      ...queueState,
    });
    last = now;
    void ask();
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return rows;
    },
  };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * Calls per minute in every sliding 60 s window that starts after the first minute (the workers'
 * start and cold caches are behind by then), by the rows' clock: a sampler late under load
 * stretches a row, so a window is the rows within 60 s of its end, scaled to exactly 60 s.
 */
export function slidingMinutes(rows: TimelineRow[]): Array<{ from: number; to: number; perMinute: number }> {
  const windows: Array<{ from: number; to: number; perMinute: number }> = [];
  let calls = 0;
  let from = 0;
  for (let to = 0; to < rows.length; to++) {
    calls += rows[to]!.calls;
    // Row `from` covers (t[from-1], t[from]]: the window holds rows from..to.
    while (from < to && rows[to]!.t - rows[from]!.t >= 60) calls -= rows[from++]!.calls;
    const span = rows[to]!.t - (from > 0 ? rows[from - 1]!.t : 0);
    if (from > 0 && rows[from - 1]!.t >= 60 && span >= 59) windows.push({ from, to, perMinute: (calls * 60) / span });
  }
  return windows;
}

/** Calls in each whole clock minute the rows cover, as ANAF (and the sandbox) count them: fixed minutes. */
export function fixedMinutes(rows: TimelineRow[]): number[] {
  const minutes = new Map<number, number>();
  for (const r of rows) minutes.set(Math.floor(r.at / 60_000), (minutes.get(Math.floor(r.at / 60_000)) ?? 0) + r.calls);
  // The first and last are partial (the run starts and stops within them).
  return [...minutes.values()].slice(1, -1);
}

/** What the rows looked like on average: calls/s, machine CPU, each group's, pollers, slots, backlog, seconds without a call. */
export function describeRows(rows: TimelineRow[]): string {
  const groups = [...new Set(rows.flatMap((r) => Object.keys(r.groups)))].sort();
  const known = (f: (r: TimelineRow) => number) => rows.map(f).filter((v) => v >= 0);
  const byGroup = groups
    .map((g) => [g, mean(rows.map((r) => r.groups[g] ?? 0))] as const)
    .filter(([, v]) => v >= 1)
    .map(([g, v]) => `${g} ${v.toFixed(0)}`)
    .join(', ');
  return [
    `${mean(rows.map((r) => r.calls)).toFixed(2)} calls/s (signature checks ${mean(rows.map((r) => r.signatureChecks)).toFixed(2)}), ${rows.filter((r) => r.calls === 0).length} s without a call`,
    `machine CPU ${mean(rows.map((r) => r.machine)).toFixed(0)}% of ${os.cpus().length * 100}% (${rows.filter((r) => r.machine >= 95 * os.cpus().length).length} s saturated), load average ${Math.min(...rows.map((r) => r.load)).toFixed(1)}–${Math.max(...rows.map((r) => r.load)).toFixed(1)}`,
    `by group (% of a core): ${byGroup}`,
    `ANAF-queue pollers open ${mean(known((r) => r.pollers)).toFixed(1)}, slots busy ${mean(known((r) => r.slotsUsed)).toFixed(1)}, backlog ${mean(known((r) => r.backlog)).toFixed(0)} (min ${Math.min(...known((r) => r.backlog))})`,
  ].join('; ');
}

/** The whole timeline as tab-separated values (one row a second), for plotting or reading a dip. */
export function writeTimeline(rows: TimelineRow[], file = path.join(os.tmpdir(), `anaf-flow-budget-timeline-${Date.now()}.tsv`)): string {
  const groups = [...new Set(rows.flatMap((r) => Object.keys(r.groups)))].sort();
  const header = [
    't',
    'calls',
    'signatureChecks',
    '429s',
    'load',
    'machine%',
    ...groups.map((g) => `${g}%`),
    'backlog',
    'pollers',
    'slotsUsed',
  ];
  const lines = rows.map((r) =>
    [
      r.t.toFixed(1),
      r.calls,
      r.signatureChecks,
      r.rateLimited,
      r.machine,
      ...groups.map((g) => r.groups[g] ?? 0),
      r.backlog,
      r.pollers,
      r.slotsUsed,
    ].join('\t'),
  );
  fs.writeFileSync(file, [header.join('\t'), ...lines].join('\n') + '\n');
  return file;
}
