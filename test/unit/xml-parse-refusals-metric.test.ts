import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { XmlParsePool, XmlParseRefused } from '../../api/xml-parse-pool';
import { hostileXml } from '../../devkit/fixtures/hostile-xml';
import { ublInvoice } from '../../devkit/fixtures/invoice';
import { xmlParseRefusals } from '../../lib/observability/metrics';

/** Every refusal of the XML parse pool is counted by code and reason, so ops can tell load (429) from hostile documents (422). */

const pool = new XmlParsePool({ threads: 1, perTenant: 1, maxPending: 8, timeoutMs: 300, memoryMb: 4096 });
after(() => pool.close());

const counted = async (code: string, reason: string) =>
  (await xmlParseRefusals.get()).values.find((v) => v.labels.code === code && v.labels.reason === reason)?.value ?? 0;

test('anaf_flow_xml_parse_refusals_total counts TOO_MANY_PARSES per reason and a document stopped by its time cap', async () => {
  const busyBefore = await counted('TOO_MANY_PARSES', 'tenant');
  const timeoutBefore = await counted('XML_PARSE_TIMEOUT', 'document');
  const hostile = pool.run('acme', 'invoice', hostileXml('hugeAttributeCount'), { standard: 'UBL' });
  const invoice = Buffer.from(ublInvoice({ supplierCif: '14399840', buyerCif: '18547290', number: 'INV-M' }));
  const second = await pool.run('acme', 'invoice', invoice, { standard: 'UBL' }).catch((e: unknown) => e);
  assert.ok(second instanceof XmlParseRefused && second.code === 'TOO_MANY_PARSES' && second.busy === 'tenant', String(second));
  const first = await hostile.catch((e: unknown) => e);
  assert.ok(first instanceof XmlParseRefused && first.code === 'XML_PARSE_TIMEOUT', String(first));
  assert.equal(await counted('TOO_MANY_PARSES', 'tenant'), busyBefore + 1);
  assert.equal(await counted('XML_PARSE_TIMEOUT', 'document'), timeoutBefore + 1);
});
