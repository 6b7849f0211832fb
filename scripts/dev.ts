import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { loadConfig } from '../lib/config';
import { DEV_BANCIWS_CUI, ensureDevPki } from '../sandbox/banciws/dev-pki';
import { type DevServer, startDevServer, waitForTemporal } from '../lib/dev-server';
import { MissingBinaryError } from '../lib/temporal-binaries';
import { WORKER_STALLED_EXIT_CODE } from '../workers/stall-watchdog';

/**
 * `npm run dev`: the whole product on embedded defaults — a Temporal dev server (unless
 * TEMPORAL_ADDRESS is set), the ANAF sandbox, the worker and the API — each its own
 * process with prefixed output, stopped together on Ctrl-C.
 */

const ROOT = path.resolve(__dirname, '..');
const started = Date.now();
const children: ChildProcess[] = [];
let devServer: DevServer | undefined;
let stopping = false;

function formatKeys(keys: Array<{ id: string; key: Buffer }>): string {
  return keys.map((k) => `${k.id}:${k.key.toString('base64')}`).join(',');
}

function log(line: string): void {
  process.stdout.write(`[dev] ${line}\n`);
}

function prefixed(name: string, chunk: Buffer): void {
  for (const line of chunk.toString().split('\n')) if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
}

function startChild(name: string, script: string, env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (c: Buffer) => prefixed(name, c));
  child.stderr?.on('data', (c: Buffer) => prefixed(name, c));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    children.splice(children.indexOf(child), 1);
    if (code === WORKER_STALLED_EXIT_CODE) {
      // Its watchdog found the workflow side wedged: a fresh process picks the work up.
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

async function waitForHttp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
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
  const devKey = config.api.keys[0]!;
  const codecEndpoint = `${config.api.publicUrl}/codec/k/${encodeURIComponent(devKey.key)}`;

  let address = config.temporal.address;
  let uiUrl = 'your Temporal UI';
  if (address) {
    log(`using Temporal at ${address} (TEMPORAL_ADDRESS)`);
    await waitForTemporal(address, 15_000);
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

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    DATA_DIR: config.dataDir,
    // Children get the same secrets explicitly, so they never race to generate their own.
    PAYLOAD_ENCRYPTION_KEYS: formatKeys(config.payloadKeys),
    TOKEN_ENCRYPTION_KEYS: formatKeys(config.tokenKeys),
    API_KEYS: config.api.keys.map((k) => `${k.tenant}:${k.key}`).join(','),
    ...(config.webhooks.secret ? { WEBHOOK_SECRET: config.webhooks.secret } : {}),
  };
  const sandboxUrl = `http://127.0.0.1:${config.sandbox.port}`;
  if (config.anaf.env === 'sandbox') {
    // BANCIWS out of the box: a CA and a client certificate made once under DATA_DIR, an institution for the dev tenant.
    const pki = await ensureDevPki(config.dataDir);
    env.SANDBOX_BANCIWS_PKI_DIR = pki.dir;
    env.SANDBOX_TLS_PORT = String(config.sandbox.tlsPort);
    if (!config.banciws.clientCert && !config.banciws.pfx) {
      Object.assign(env, { BANCIWS_CLIENT_CERT: pki.clientCert, BANCIWS_CLIENT_KEY: pki.clientKey, BANCIWS_CA: pki.caCert });
    }
    if (config.banciws.institutions.length === 0) {
      env.BANCIWS_INSTITUTIONS = JSON.stringify([{ id: 'banca-dev', tenant: devKey.tenant, cui: DEV_BANCIWS_CUI, zile: '1/24', pollEveryMinutes: 60 }]);
    }
    startChild('sandbox', 'sandbox/main.ts', env);
    await waitForHttp(`${sandboxUrl}/__sandbox/state`, 30_000);
  }
  startChild('worker', 'workers/main.ts', env);
  startChild('api', 'api/main.ts', env);
  await waitForHttp(`http://127.0.0.1:${config.api.port}/readyz`, 60_000);

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const lines = [
    '',
    `anaf-flow is up in ${seconds} s (ANAF_ENV=${config.anaf.env})`,
    `  API           ${config.api.publicUrl}   (docs: ${config.api.publicUrl}/docs)`,
    `  Temporal UI   ${uiUrl}   (payloads decoded through ${config.api.publicUrl}/codec)`,
    `  Temporal      ${address}   namespace ${config.temporal.namespace}`,
    ...(config.anaf.env === 'sandbox' ? [`  ANAF sandbox  ${sandboxUrl}`] : []),
    config.api.keysGenerated
      ? `  API key       ${devKey.key}   (tenant "${devKey.tenant}", generated for development; header x-api-key)`
      : `  API keys      from API_KEYS (${config.api.keys.length})`,
    `  data          ${config.dataDir}`,
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
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
