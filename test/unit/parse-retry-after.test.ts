import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import express from 'express';
import { request } from 'undici';
import type { ApiContext } from '../../api/context';
import { errorHandler } from '../../api/errors';
import { inspectInvoice } from '../../api/untrusted-xml-checks';
import { XmlParsePool } from '../../api/xml-parse-pool';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { hostileXml } from '../../devkit/fixtures/hostile-xml';
import { createLogger } from '../../lib/observability/logger';

/**
 * A refused parse tells the ERP when to come back (Retry-After). It was the parse time cap
 * (10 s by default) whatever the load: a burst of ordinary invoices, each read in milliseconds,
 * waited ten seconds per refusal. Now it is the time the admitted parses need to drain.
 */
const pool = new XmlParsePool({ threads: 1, perTenant: 4, maxPending: 100, timeoutMs: 10_000, memoryMb: 256 });
const app = express();
app.use((_req, res, next) => {
  res.locals.tenant = 'acme';
  next();
});
app.post('/inspect', express.raw({ type: '*/*', limit: '1mb' }), async (req, res) => {
  res.json(await inspectInvoice({ xmlParsing: pool } as ApiContext, res, req.body as Buffer, 'UBL'));
});
app.use(errorHandler(createLogger({ level: 'silent' })));
const server = app.listen(0, '127.0.0.1');
after(async () => {
  server.close();
  await pool.close();
});

test('a burst of ordinary invoices over the tenant cap is told Retry-After 1, not the time cap', async () => {
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/inspect`;
  const body = ublInvoice({ supplierCif: '14399840', buyerCif: '18547290', number: 'INV-B' });
  const answers = await Promise.all(
    Array.from({ length: 12 }, async () => {
      const r = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/xml' }, headersTimeout: 10_000 });
      const json = (await r.body.json()) as { error?: { code: string } };
      return { status: r.statusCode, code: json.error?.code, retryAfter: r.headers['retry-after'] };
    }),
  );
  const refused = answers.filter((a) => a.status === 429);
  assert.ok(refused.length > 0, `the burst was over the tenant cap: ${JSON.stringify(answers)}`);
  for (const a of refused) assert.deepEqual([a.code, a.retryAfter], ['TOO_MANY_PARSES', '1']);
  assert.ok(
    answers.every((a) => a.status === 200 || a.status === 429),
    JSON.stringify(answers),
  );
});

test('Retry-After grows with the parses waiting, and never passes the time cap', async () => {
  const quick = new XmlParsePool({ threads: 1, perTenant: 1000, maxPending: 1000, timeoutMs: 3_000, memoryMb: 256 });
  try {
    assert.equal(quick.retryAfterSeconds(), 1, 'idle');
    const invoice = Buffer.from(ublInvoice({ supplierCif: '14399840', buyerCif: '18547290', number: 'INV-Q' }));
    const queued = Array.from({ length: 40 }, () => quick.run('acme', 'invoice', invoice, { standard: 'UBL' }));
    // 40 waiting on one thread at ~50 ms each: about two seconds to drain.
    assert.equal(quick.retryAfterSeconds(), 3);
    const more = Array.from({ length: 200 }, () => quick.run('acme', 'invoice', invoice, { standard: 'UBL' }).catch(() => undefined));
    assert.equal(quick.retryAfterSeconds(), 3, 'capped at the 3 s time cap');
    await Promise.all([...queued, ...more]);
    assert.equal(quick.retryAfterSeconds(), 1, 'drained');
  } finally {
    await quick.close();
  }
});

test('threads held by slow documents: Retry-After says so before any of them ends', async () => {
  const jammed = new XmlParsePool({ threads: 1, perTenant: 1000, maxPending: 1000, timeoutMs: 20_000, memoryMb: 4096 });
  try {
    const slow = jammed.run('acme', 'invoice', hostileXml('hugeAttributeCount'), { standard: 'UBL' }).catch((e: unknown) => e);
    const waiting = jammed.run('acme', 'invoice', hostileXml('hugeAttributeCount'), { standard: 'UBL' }).catch((e: unknown) => e);
    const until = Date.now() + 800;
    // The first parse holds the only thread for seconds (a million attributes); its age, not the 50 ms average, sets the pace.
    while (Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.ok(jammed.retryAfterSeconds() >= 2, `Retry-After ${jammed.retryAfterSeconds()} with a thread held 0.8 s and one waiting`);
    await jammed.close();
    await Promise.all([slow, waiting]);
  } finally {
    await jammed.close();
  }
});
