/**
 * `npx tsx bench/banciws-session.ts`: BANCIWS calls per second through ONE F5 APM session
 * with 20 concurrent callers, against the local sandbox (loopback only, real TLS with the
 * certificate asked for by renegotiation), then the number of re-bootstraps after a forced
 * session expiry hit by 20 concurrent calls (must be 1). Bounded: ~15 s in all.
 */
import fs from 'node:fs';
import { BanciwsClient } from '../activities/banciws/client';
import { createSandbox } from '../sandbox';
import { writeClientCredentials } from '../devkit/fixtures/banciws';

const CALLERS = 20;
const MEASURE_MS = Number(process.env.BENCH_SECONDS ?? 8) * 1000;

async function main(): Promise<void> {
  const sandbox = await createSandbox({ port: 0, host: '127.0.0.1', banciws: { tlsPort: 0, host: '127.0.0.1' } });
  const banciws = sandbox.banciws!;
  const creds = await writeClientCredentials(banciws, '361820');
  const client = new BanciwsClient({ baseUrl: banciws.baseUrl, credentials: creds, label: 'bench' });
  const hardStop = setTimeout(() => {
    console.error('bench: exceeded 60 s, aborting');
    process.exit(2);
  }, 60_000);
  try {
    let t = performance.now();
    await client.list('1/24');
    const bootstrapMs = performance.now() - t;

    let calls = 0;
    let failures = 0;
    const latencies: number[] = [];
    const until = performance.now() + MEASURE_MS;
    t = performance.now();
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (performance.now() < until) {
          const s = performance.now();
          try {
            await client.list('1');
            calls += 1;
            latencies.push(performance.now() - s);
          } catch {
            failures += 1;
          }
        }
      }),
    );
    const elapsed = (performance.now() - t) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(1);
    const bootstrapsBefore = client.session.stats.bootstraps;
    const renegotiationsBefore = banciws.gateway.counters.certificateRequests;

    banciws.gateway.expireAll();
    t = performance.now();
    const after = await Promise.allSettled(Array.from({ length: CALLERS }, () => client.list('1')));
    const recoveryMs = performance.now() - t;
    const rebootstraps = client.session.stats.bootstraps - bootstrapsBefore;

    const lines = [
      `BANCIWS session benchmark (sandbox on loopback, TLS 1.2, ${CALLERS} concurrent callers, one F5 session)`,
      `  bootstrap (redirects + renegotiation + probe): ${bootstrapMs.toFixed(0)} ms`,
      `  listaMesaje calls: ${calls} in ${elapsed.toFixed(1)} s = ${(calls / elapsed).toFixed(1)} calls/s (failures ${failures})`,
      `  latency ms: p50 ${pct(50)}  p95 ${pct(95)}  p99 ${pct(99)}`,
      `  sessions during the run: bootstraps ${bootstrapsBefore}, certificate renegotiations ${renegotiationsBefore}`,
      `  forced expiry + ${CALLERS} concurrent calls: re-bootstraps ${rebootstraps} (must be 1), ` +
        `succeeded ${after.filter((r) => r.status === 'fulfilled').length}/${CALLERS}, recovered in ${recoveryMs.toFixed(0)} ms`,
    ];
    console.log(lines.join('\n'));
    if (rebootstraps !== 1 || after.some((r) => r.status === 'rejected')) process.exitCode = 1;
  } finally {
    clearTimeout(hardStop);
    await client.close();
    await sandbox.close();
    fs.rmSync(creds.dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
