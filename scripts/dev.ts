import type { ChildProcess } from 'node:child_process';
import { exitedWedged, spawnProductProcess } from '../devkit/product-process';
import { loadConfig } from '../lib/config/config';
import { type DevServer, startDevServer, waitForTemporal } from '../lib/temporal/dev-server';
import { MissingBinaryError } from '../lib/temporal/temporal-binaries';
import { temporalConnectionOptions } from '../lib/temporal/temporal-client';
import { addSandboxEnv, productEnv, summary, waitForHttp } from './launch';

/**
 * `npm run dev`: the whole product on embedded defaults — a Temporal dev server (unless
 * TEMPORAL_ADDRESS is set), the ANAF sandbox, the worker and the API — each its own
 * process with prefixed output, stopped together on Ctrl-C.
 */

const started = Date.now();
const children: ChildProcess[] = [];
let devServer: DevServer | undefined;
let stopping = false;

function log(line: string): void {
  process.stdout.write(`[dev] ${line}\n`);
}

function prefixed(name: string, chunk: Buffer): void {
  for (const line of chunk.toString().split('\n')) if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
}

function startChild(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawnProductProcess(script, env);
  child.stdout?.on('data', (c: Buffer) => prefixed(name, c));
  child.stderr?.on('data', (c: Buffer) => prefixed(name, c));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    children.splice(children.indexOf(child), 1);
    if (exitedWedged(code)) {
      // A fresh process picks the work up.
      log(`${name} exited to be restarted (wedged); starting it again`);
      startChild(name, script, env);
      return;
    }
    log(`${name} exited (${signal ?? code}); stopping everything`);
    void shutdown(1);
  });
  children.push(child);
  return child;
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
          setTimeout(() => c.kill('SIGKILL'), 10_000).unref();
        }),
    ),
  );
  await devServer?.stop();
  process.exit(code);
}

async function main(): Promise<void> {
  const config = loadConfig();
  // The dev server's UI sends no credentials, so the operator key goes in the path: allowed with ANAF_ENV=sandbox only.
  const operatorKey = config.api.operatorKeys[0];
  const codecEndpoint =
    operatorKey && config.anaf.env === 'sandbox'
      ? `${config.api.publicUrl}/codec/k/${encodeURIComponent(operatorKey.key)}`
      : `${config.api.publicUrl}/codec`;

  let address = config.temporal.address;
  let uiUrl = 'your Temporal UI';
  if (address) {
    log(`using Temporal at ${address} (TEMPORAL_ADDRESS)`);
    await waitForTemporal(temporalConnectionOptions(config, address), 15_000);
  } else {
    devServer = await startDevServer({
      dataDir: config.dataDir,
      namespace: config.temporal.namespace,
      codecEndpoint,
      onOutput: (line) => process.stdout.write(`[temporal] ${line}\n`),
    });
    devServer.process.once('exit', () => {
      if (!stopping) {
        log('Temporal dev server exited; stopping everything');
        void shutdown(1);
      }
    });
    address = devServer.address;
    uiUrl = devServer.uiUrl;
  }

  const env = productEnv(config, address);
  if (config.anaf.env === 'sandbox') {
    const sandboxUrl = await addSandboxEnv(config, env);
    startChild('sandbox', 'sandbox/main.ts', env);
    await waitForHttp(`${sandboxUrl}/__sandbox/state`, 30_000);
  }
  startChild('worker', 'workers/main.ts', env);
  startChild('api', 'api/main.ts', env);
  await waitForHttp(`http://127.0.0.1:${config.api.port}/readyz`, 60_000);
  process.stdout.write(summary({ what: 'anaf-flow', startedAt: started, config, address, uiUrl }));
}

// Whatever ends this process, no orphaned server may keep the ports.
process.on('exit', () => {
  for (const c of [...children, devServer?.process]) if (c && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

main().catch((err) => {
  log(err instanceof MissingBinaryError ? err.message : `start-up failed: ${(err as Error).stack ?? err}`);
  void shutdown(1);
});
