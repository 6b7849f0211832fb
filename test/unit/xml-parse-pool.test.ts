import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { XmlParsePool, XmlParseRefused, type XmlParseLimits } from '../../api/xml-parse-pool';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { hostileXml } from '../../devkit/fixtures/hostile-xml';
import { inspectInvoiceXml } from '../../schemas/efactura-invoice';

const LIMITS: XmlParseLimits = { threads: 1, perTenant: 2, maxPending: 8, timeoutMs: 30_000, memoryMb: 256 };
const pools: XmlParsePool[] = [];
const poolWith = (limits: Partial<XmlParseLimits>) => {
  const pool = new XmlParsePool({ ...LIMITS, ...limits });
  pools.push(pool);
  return pool;
};
after(() => Promise.all(pools.map((p) => p.close())));

const invoice = Buffer.from(ublInvoice({ supplierCif: '14399840', buyerCif: '18547290', number: 'INV-1' }));

async function refusal(promise: Promise<unknown>): Promise<XmlParseRefused> {
  const err = await promise.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof XmlParseRefused, `expected XmlParseRefused, got ${String(err)}`);
  return err;
}

describe('XML parse pool: untrusted XML parsed on worker threads under caps', () => {
  test('a normal invoice gets the same inspection on a parse thread as in place', async () => {
    const pool = poolWith({});
    assert.deepEqual(await pool.run('acme', 'invoice', invoice, { standard: 'UBL' }), inspectInvoiceXml(invoice, 'UBL'));
    assert.deepEqual(await pool.run('acme', 'invoice', invoice, { standard: 'CII' }), inspectInvoiceXml(invoice, 'CII'));
    assert.equal(pool.inFlight, 0);
  });

  test('a parse past the time cap is stopped (XML_PARSE_TIMEOUT) and its thread replaced', async () => {
    // A million attributes take seconds to read; memory is not the cap here.
    const pool = poolWith({ timeoutMs: 300, memoryMb: 4096 });
    const started = Date.now();
    const err = await refusal(pool.run('acme', 'invoice', hostileXml('hugeAttributeCount'), { standard: 'UBL' }));
    assert.equal(err.code, 'XML_PARSE_TIMEOUT');
    assert.ok(Date.now() - started < 3000, `stopped after ${Date.now() - started} ms`);
    const next = await pool.run('acme', 'invoice', invoice, { standard: 'UBL' });
    assert.equal(next.ok, true);
  });

  test('a parse past the memory cap is refused (XML_TOO_COMPLEX); the process lives on and the next parse works', async () => {
    // 400,000 distinct element names: within the element budget, far beyond 64 MB of tree.
    const pool = poolWith({ memoryMb: 64 });
    const err = await refusal(pool.run('acme', 'invoice', hostileXml('distinctElements', 4 * 1024 * 1024), { standard: 'UBL' }));
    assert.equal(err.code, 'XML_TOO_COMPLEX');
    assert.match(err.message, /64 MB/);
    assert.equal((await pool.run('acme', 'invoice', invoice, { standard: 'UBL' })).ok, true);
  });

  test('element count and depth beyond any invoice are refused by count, whatever the machine (XML_TOO_COMPLEX)', async () => {
    const pool = poolWith({});
    const many = await pool.run('acme', 'invoice', hostileXml('emptyElements'), { standard: 'UBL' });
    assert.deepEqual(many.ok ? undefined : many.code, 'XML_TOO_COMPLEX');
    const deep = await pool.run('acme', 'invoice', hostileXml('deepNesting'), { standard: 'UBL' });
    assert.deepEqual(deep.ok ? undefined : deep.code, 'XML_TOO_COMPLEX');
  });

  test("one tenant's parses are capped (TOO_MANY_PARSES, tenant) while another tenant's are admitted; overall too", async () => {
    const pool = poolWith({ perTenant: 2, maxPending: 3, timeoutMs: 20_000 });
    const slow = hostileXml('hugeAttributeCount', 2 * 1024 * 1024);
    const first = [pool.run('acme', 'invoice', slow, { standard: 'UBL' }), pool.run('acme', 'invoice', slow, { standard: 'UBL' })].map(
      (p) => p.catch((e: unknown) => e),
    );
    const tenantCapped = await refusal(pool.run('acme', 'invoice', invoice, { standard: 'UBL' }));
    assert.deepEqual([tenantCapped.code, tenantCapped.busy], ['TOO_MANY_PARSES', 'tenant']);
    const other = pool.run('globex', 'invoice', invoice, { standard: 'UBL' });
    const overall = await refusal(pool.run('initech', 'invoice', invoice, { standard: 'UBL' }));
    assert.deepEqual([overall.code, overall.busy], ['TOO_MANY_PARSES', 'overall']);
    await Promise.all(first);
    assert.equal((await other).ok, true);
    assert.equal(pool.inFlight, 0);
    assert.equal((await pool.run('acme', 'invoice', invoice, { standard: 'UBL' })).ok, true, 'slots are given back');
  });

  test('a parse that waits for a thread longer than the time cap is refused as load (TOO_MANY_PARSES), not blamed on the document', async () => {
    const pool = poolWith({ threads: 1, perTenant: 5, timeoutMs: 400, memoryMb: 4096 });
    const slow = hostileXml('hugeAttributeCount');
    // One thread: the second slow parse takes it when the first is stopped; the invoice behind them waits too long.
    const running = [pool.run('acme', 'invoice', slow, { standard: 'UBL' }), pool.run('acme', 'invoice', slow, { standard: 'UBL' })].map(
      refusal,
    );
    const waiting = await refusal(pool.run('globex', 'invoice', invoice, { standard: 'UBL' }));
    assert.deepEqual([waiting.code, waiting.busy], ['TOO_MANY_PARSES', 'overall']);
    assert.deepEqual(
      (await Promise.all(running)).map((r) => r.code),
      ['XML_PARSE_TIMEOUT', 'XML_PARSE_TIMEOUT'],
    );
  });
});
