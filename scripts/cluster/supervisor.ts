import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { spawnProductProcess } from '../../devkit/product-process';
import { type ChildSpec, type ChildStatus, ProcessDir, statusFile, stopProcess, type SupervisorSpec } from './processes';
import { startRoundRobinProxy } from './round-robin-proxy';

/**
 * The cluster's product processes (sandbox, workers, APIs) under one detached supervisor, as an
 * orchestrator would run them: each is restarted when it exits (a worker's stall watchdog exits
 * with 75 on purpose; a SIGKILLed worker is replaced), and the API processes sit behind one
 * round-robin port. Started by scripts/cluster.ts with the spec in CLUSTER_SUPERVISOR_SPEC and
 * the product's configuration in its environment; SIGTERM stops them all.
 */

const QUICK_EXIT_MS = 10_000;
const MAX_QUICK_EXITS = 5;

async function main(): Promise<void> {
  const spec = JSON.parse(process.env.CLUSTER_SUPERVISOR_SPEC ?? '') as SupervisorSpec;
  const dirs = new ProcessDir(spec.clusterDir);
  const status: Record<string, ChildStatus> = {};
  const running = new Map<string, ChildProcess>();
  let stopping = false;
  const writeStatus = () => fs.writeFileSync(statusFile(spec.clusterDir), JSON.stringify(status, null, 1));
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} [supervisor] ${line}\n`);

  const start = (c: ChildSpec, quickExits: number) => {
    const child = spawnProductProcess(c.script, { ...process.env, CLUSTER_SUPERVISOR_SPEC: '', ...c.env });
    const startedAt = Date.now();
    const out = fs.createWriteStream(dirs.logFile(c.name), { flags: 'a' });
    child.stderr!.pipe(out, { end: false });
    let seen = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out.write(chunk);
      if (status[c.name]!.ready) return;
      seen = (seen + chunk.toString()).slice(-4096);
      if (seen.includes(c.readyLine)) {
        status[c.name]!.ready = true;
        writeStatus();
      }
    });
    running.set(c.name, child);
    dirs.write(c.name, { pid: child.pid!, marker: c.script });
    status[c.name] = { pid: child.pid!, ready: false, restarts: (status[c.name]?.restarts ?? -1) + 1 };
    writeStatus();
    child.once('exit', (code, signal) => {
      running.delete(c.name);
      out.end();
      if (stopping) return;
      const quick = Date.now() - startedAt < QUICK_EXIT_MS ? quickExits + 1 : 0;
      log(`${c.name} (pid ${child.pid}) exited (${signal ?? code})`);
      if (quick >= MAX_QUICK_EXITS) {
        status[c.name] = {
          ...status[c.name]!,
          ready: false,
          failed: `exited ${quick} times within ${QUICK_EXIT_MS / 1000} s of starting; see ${dirs.logFile(c.name)}`,
        };
        writeStatus();
        log(`${c.name}: giving up`);
        return;
      }
      status[c.name]!.ready = false;
      writeStatus();
      setTimeout(() => !stopping && start(c, quick), 1_000);
    });
  };

  const proxy = await startRoundRobinProxy(spec.proxy.port, spec.proxy.backends, '0.0.0.0');
  for (const c of spec.children) start(c, 0);
  log(
    `supervising ${spec.children.map((c) => c.name).join(', ')}; API on :${spec.proxy.port} → ${spec.proxy.backends.map((b) => b.port).join(', ')}`,
  );

  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    proxy.close();
    await Promise.all(
      [...running.entries()].map(([name, child]) =>
        stopProcess({ pid: child.pid!, marker: spec.children.find((c) => c.name === name)!.script }, 15_000),
      ),
    );
    for (const c of spec.children) fs.rmSync(dirs.pidFile(c.name), { force: true });
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
}

main().catch((err: unknown) => {
  console.error('cluster supervisor failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
