import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Backend } from './round-robin-proxy';

/**
 * The cluster's long-lived processes run detached from the terminal that started them, each
 * with a pid file under DATA_DIR/cluster/run and its output in DATA_DIR/cluster/logs, so
 * `npm run cluster -- --stop` (or the chaos suite) can find and end exactly them.
 */

export interface PidRecord {
  pid: number;
  /** A string the process's command line contains: a recycled pid is not taken for ours. */
  marker: string;
}

export class ProcessDir {
  readonly runDir: string;
  readonly logDir: string;

  constructor(clusterDir: string) {
    this.runDir = path.join(clusterDir, 'run');
    this.logDir = path.join(clusterDir, 'logs');
    fs.mkdirSync(this.runDir, { recursive: true });
    fs.mkdirSync(this.logDir, { recursive: true });
  }

  pidFile(name: string): string {
    return path.join(this.runDir, `${name}.pid`);
  }

  logFile(name: string): string {
    return path.join(this.logDir, `${name}.log`);
  }

  write(name: string, record: PidRecord): void {
    fs.writeFileSync(this.pidFile(name), JSON.stringify(record));
  }

  /** The live process recorded under `name`, if any (a stale pid file is removed). */
  alive(name: string): PidRecord | undefined {
    let record: PidRecord;
    try {
      record = JSON.parse(fs.readFileSync(this.pidFile(name), 'utf8')) as PidRecord;
    } catch {
      return undefined;
    }
    if (isAlive(record)) return record;
    fs.rmSync(this.pidFile(name), { force: true });
    return undefined;
  }

  /** Starts `command` detached (its own process group), output appended to its log, pid recorded. */
  spawnDaemon(
    name: string,
    command: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; cwd?: string; marker?: string } = {},
  ): PidRecord {
    const out = fs.openSync(this.logFile(name), 'a');
    const child = spawn(command, args, { detached: true, stdio: ['ignore', out, out], env: options.env ?? process.env, cwd: options.cwd });
    fs.closeSync(out);
    child.unref();
    if (!child.pid) throw new Error(`could not start ${name} (${command})`);
    const record = { pid: child.pid, marker: options.marker ?? path.basename(command) };
    this.write(name, record);
    return record;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  async stop(name: string, graceMs = 15_000): Promise<boolean> {
    const record = this.alive(name);
    if (!record) return false;
    await stopProcess(record, graceMs);
    fs.rmSync(this.pidFile(name), { force: true });
    return true;
  }
}

export function isAlive(record: PidRecord): boolean {
  try {
    const cmdline = fs.readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
    const stat = fs.readFileSync(`/proc/${record.pid}/stat`, 'utf8');
    // A zombie (state Z) has exited; only its parent has not reaped it yet.
    return cmdline.includes(record.marker) && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function stopProcess(record: PidRecord, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const send = (s: NodeJS.Signals) => {
    try {
      process.kill(record.pid, s);
    } catch {
      // already gone
    }
  };
  send(signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(record)) {
    if (Date.now() > deadline) {
      send('SIGKILL');
      const hard = Date.now() + 5_000;
      while (isAlive(record) && Date.now() < hard) await new Promise((r) => setTimeout(r, 100));
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What scripts/cluster/supervisor.ts runs (the product's processes) and what it reports. */
export interface ChildSpec {
  name: string;
  script: string;
  env: Record<string, string>;
  /** A line of its output that says it is serving. */
  readyLine: string;
}

export interface SupervisorSpec {
  clusterDir: string;
  children: ChildSpec[];
  proxy: { port: number; backends: Backend[] };
}

export interface ChildStatus {
  pid: number;
  ready: boolean;
  restarts: number;
  failed?: string;
}

export const statusFile = (clusterDir: string) => path.join(clusterDir, 'run', 'status.json');
