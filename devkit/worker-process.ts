import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { stopChild } from '../lib/process/bounded';
import { spawnProductProcess } from './product-process';

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
}

export interface WorkerSpawn {
  /** The product's configuration; the worker logs at info (its "worker started" line is how we know it polls). */
  env: Record<string, string>;
  bundlePath: string;
  /** Its output goes to <logDir>/worker-<pid>.log. */
  logDir: string;
  script?: string;
}

/** A worker process as production runs it (or another worker script), measurable and killable by pid. */
export function spawnWorkerProcess(o: WorkerSpawn): WorkerProcess {
  // BENCH_WORKER_PROFILE=<dir>: a V8 CPU profile of each worker, written when it stops.
  const profile = process.env.BENCH_WORKER_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_WORKER_PROFILE}`] : [];
  const env = { ...process.env, ...o.env, WORKFLOW_BUNDLE: o.bundlePath, TEMPORAL_VERSION_CHECK_DISABLED: '1' };
  const child = spawnProductProcess(o.script ?? 'workers/main.ts', env, profile);
  const log = fs.createWriteStream(path.join(o.logDir, `worker-${child.pid}.log`));
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, pid: child.pid!, exited };
}

/** Ready when it logs "worker started" (JSON line); rejects if it dies first or takes over 60 s. */
export function workerStarted(worker: WorkerProcess, logDir: string): Promise<void> {
  const { child, exited } = worker;
  return new Promise<void>((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('worker started')) {
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`worker exited with ${code} before it started; see ${logDir}`)));
    setTimeout(() => reject(new Error(`worker did not start within 60 s; see ${logDir}`)), 60_000).unref();
  });
}

/**
 * `signal`, then SIGKILL if it is still there after `graceMs`. Bounded (bounded.ts stopChild):
 * awaiting `exited` alone waited forever on a worker that ignored SIGTERM.
 */
export function killWorkerProcess(worker: WorkerProcess, signal: NodeJS.Signals = 'SIGKILL', graceMs = 10_000): Promise<void> {
  return stopChild(worker.child, signal, graceMs);
}
