import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { detectProblem, FAILURE_TYPES, failureForProblem, quotaRefusedLocally } from '../../activities/anaf/failures';
import type { AnafResponse } from '../../activities/anaf/http';
import { EfacturaClient } from '../../activities/efactura/anaf-efactura-client';
import { ANAF_PUBLISHED_DAILY_QUOTAS, DailyQuotaGuard, type QuotaRefusal } from '../../lib/anaf/anaf-daily-quotas';
import { loadConfig } from '../../lib/config/config';
import { romanianDay } from '../../lib/anaf/romanian-time';
import { TEST_API_KEYS, TEST_PAYLOAD_KEYS, TEST_TOKEN_KEYS } from '../../devkit/config';

/** The worker's per-CUI daily quota guard: counted ahead, refused before calling, reset by the Romanian day. */

const CIF = '14399840';
const OTHER = '18547290';
// Romanian midnight is 22:00 UTC in winter (EET) and 21:00 UTC in summer (EEST).
const WINTER_LAST_MINUTE = Date.UTC(2026, 0, 15, 21, 59, 59);
const WINTER_MIDNIGHT = Date.UTC(2026, 0, 15, 22, 0, 0);
const SUMMER_LAST_MINUTE = Date.UTC(2026, 6, 15, 20, 59, 59);
const SUMMER_MIDNIGHT = Date.UTC(2026, 6, 15, 21, 0, 0);

function clock(start: number) {
  let now = start;
  return {
    now: () => now,
    set(at: number) {
      now = at;
    },
  };
}

function guard(at: number, limits = { RASP_UPLOAD: 3, PAGINATED_LIST: 5 }) {
  const c = clock(at);
  return { c, quotas: new DailyQuotaGuard(limits, c.now) };
}

const refusalOf = (d: ReturnType<DailyQuotaGuard['take']>): QuotaRefusal => {
  assert.equal(d.allowed, false, 'expected a refusal');
  return d as QuotaRefusal;
};

describe('DailyQuotaGuard', () => {
  test('the clock constants are the Romanian midnights they claim to be', () => {
    assert.equal(romanianDay(WINTER_LAST_MINUTE), '2026-01-15');
    assert.equal(romanianDay(WINTER_MIDNIGHT), '2026-01-16');
    assert.equal(romanianDay(SUMMER_LAST_MINUTE), '2026-07-15');
    assert.equal(romanianDay(SUMMER_MIDNIGHT), '2026-07-16');
  });

  test("defaults are ANAF's published limits", () => {
    assert.deepEqual(ANAF_PUBLISHED_DAILY_QUOTAS, { RASP_UPLOAD: 1000, PAGINATED_LIST: 100_000 });
    const quotas = new DailyQuotaGuard(undefined, () => WINTER_MIDNIGHT);
    for (let i = 0; i < 1000; i++) assert.equal(quotas.take('RASP_UPLOAD', CIF).allowed, true);
    assert.equal(refusalOf(quotas.take('RASP_UPLOAD', CIF)).reason, 'LIMIT_REACHED');
  });

  test('counts each call ahead and refuses at the limit, per quota and per CUI', () => {
    const { quotas } = guard(WINTER_LAST_MINUTE - 3_600_000);
    for (let i = 1; i <= 3; i++) {
      assert.deepEqual(quotas.take('RASP_UPLOAD', CIF), { allowed: true, day: '2026-01-15' });
      assert.equal(quotas.usedToday('RASP_UPLOAD', CIF), i);
    }
    const refusal = refusalOf(quotas.take('RASP_UPLOAD', CIF));
    assert.deepEqual(refusal, {
      allowed: false,
      reason: 'LIMIT_REACHED',
      quota: 'RASP_UPLOAD',
      cif: CIF,
      day: '2026-01-15',
      used: 3,
      limit: 3,
    });
    assert.equal(quotas.usedToday('RASP_UPLOAD', CIF), 3, 'a refusal is not a call');
    assert.equal(quotas.take('RASP_UPLOAD', OTHER).allowed, true, 'another CUI has its own quota');
    assert.equal(quotas.take('PAGINATED_LIST', CIF).allowed, true, 'another quota of the same CUI is untouched');
  });

  test('resets at Romanian midnight: 22:00 UTC in winter', () => {
    const { c, quotas } = guard(WINTER_LAST_MINUTE);
    for (let i = 0; i < 3; i++) quotas.take('RASP_UPLOAD', CIF);
    assert.equal(quotas.take('RASP_UPLOAD', CIF).allowed, false);
    c.set(WINTER_MIDNIGHT - 1);
    assert.equal(quotas.take('RASP_UPLOAD', CIF).allowed, false, 'still the same Romanian day');
    c.set(WINTER_MIDNIGHT);
    assert.equal(quotas.take('RASP_UPLOAD', CIF).allowed, true, 'a new Romanian day, though still Jan 15 in UTC');
    assert.equal(quotas.usedToday('RASP_UPLOAD', CIF), 1);
  });

  test('resets at Romanian midnight: 21:00 UTC in summer', () => {
    const { c, quotas } = guard(SUMMER_LAST_MINUTE);
    for (let i = 0; i < 3; i++) quotas.take('RASP_UPLOAD', CIF);
    assert.equal(quotas.take('RASP_UPLOAD', CIF).allowed, false);
    c.set(SUMMER_MIDNIGHT);
    assert.equal(quotas.take('RASP_UPLOAD', CIF).allowed, true);
  });

  test("ANAF's refusal marks the quota of that CUI spent for the rest of the Romanian day, whatever the count", () => {
    const { c, quotas } = guard(WINTER_LAST_MINUTE - 60_000);
    assert.equal(quotas.take('PAGINATED_LIST', CIF).allowed, true);
    quotas.markRefusedByAnaf('PAGINATED_LIST', CIF);
    const refusal = refusalOf(quotas.take('PAGINATED_LIST', CIF));
    assert.equal(refusal.reason, 'REFUSED_BY_ANAF');
    assert.equal(refusal.used, 1);
    assert.equal(quotas.take('PAGINATED_LIST', OTHER).allowed, true, 'other CUIs still call');
    assert.equal(quotas.take('RASP_UPLOAD', CIF).allowed, true, 'other quotas still call');
    c.set(WINTER_MIDNIGHT);
    assert.equal(quotas.take('PAGINATED_LIST', CIF).allowed, true, 'the next Romanian day forgets the refusal');
  });

  test('a refusal to a call made before Romanian midnight, answered after it, leaves the new day alone', () => {
    const { c, quotas } = guard(WINTER_LAST_MINUTE);
    const taken = quotas.take('RASP_UPLOAD', CIF);
    assert.equal(taken.allowed, true);
    c.set(WINTER_MIDNIGHT + 1_000);
    quotas.markRefusedByAnaf('RASP_UPLOAD', CIF, taken.day);
    assert.equal(quotas.take('RASP_UPLOAD', CIF).allowed, true);
    assert.equal(quotas.size, 1, 'nothing kept for the day that is over');
  });

  test('memory is bounded: the days before today are dropped', () => {
    const { c, quotas } = guard(WINTER_MIDNIGHT);
    for (let day = 0; day < 30; day++) {
      c.set(WINTER_MIDNIGHT + day * 86_400_000 + 3_600_000);
      for (let n = 0; n < 50; n++) quotas.take('PAGINATED_LIST', String(1_000_000 + n));
      quotas.markRefusedByAnaf('RASP_UPLOAD', CIF);
      assert.equal(quotas.size, 51, `day ${day}: only today's entries are held`);
    }
  });
});

describe("the refusal the guard throws is ANAF's daily-limit failure", () => {
  test('same type, same wait until the next Romanian day, retryable as before; says no call was made', () => {
    const now = Date.UTC(2026, 10, 20, 10, 0);
    const anaf = failureForProblem(
      detectProblem(answer(200, 'S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=1 in cursul zilei', 'text/plain'))!,
      {
        operation: 'e-Factura upload',
        idempotent: false,
        now,
      },
    );
    const { quotas } = guard(now, { RASP_UPLOAD: 1, PAGINATED_LIST: 1 });
    quotas.take('RASP_UPLOAD', CIF);
    const local = quotaRefusedLocally('e-Factura upload', refusalOf(quotas.take('RASP_UPLOAD', CIF)), now);
    assert.ok(local instanceof ApplicationFailure);
    assert.equal(local.type, FAILURE_TYPES.DAILY_LIMIT);
    assert.equal(local.type, anaf.type);
    assert.equal(local.nextRetryDelay, anaf.nextRetryDelay);
    assert.equal(local.nonRetryable, anaf.nonRetryable);
    assert.match(
      local.message,
      /^e-Factura upload: refused locally by the daily quota guard, no ANAF call made: 1 RASP_UPLOAD calls for CUI 14399840/,
    );
    assert.equal((local.details?.[0] as { refusedLocally?: boolean }).refusedLocally, true);
  });
});

describe('configuration', () => {
  const base = {
    ANAF_ENV: 'sandbox',
    PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS,
    TOKEN_ENCRYPTION_KEYS: TEST_TOKEN_KEYS,
    API_KEYS: TEST_API_KEYS,
  };

  test('defaults to the published quotas; EFACTURA_DAILY_* override them; nonsense stops start-up', () => {
    assert.deepEqual(loadConfig(base, { generateDevSecrets: false }).efactura.dailyQuotas, { RASP_UPLOAD: 1000, PAGINATED_LIST: 100_000 });
    const raised = loadConfig(
      { ...base, EFACTURA_DAILY_RASP_UPLOADS: '5000', EFACTURA_DAILY_PAGINATED_LISTINGS: '200000' },
      { generateDevSecrets: false },
    );
    assert.deepEqual(raised.efactura.dailyQuotas, { RASP_UPLOAD: 5000, PAGINATED_LIST: 200_000 });
    assert.throws(
      () => loadConfig({ ...base, EFACTURA_DAILY_RASP_UPLOADS: '0' }, { generateDevSecrets: false }),
      /EFACTURA_DAILY_RASP_UPLOADS/,
    );
    assert.throws(
      () => loadConfig({ ...base, EFACTURA_DAILY_PAGINATED_LISTINGS: '1.5' }, { generateDevSecrets: false }),
      /EFACTURA_DAILY_PAGINATED_LISTINGS/,
    );
  });
});

function answer(status: number, body: string, contentType: string): AnafResponse {
  const buf = Buffer.from(body);
  return { status, headers: { 'content-type': contentType }, contentType, body: buf, text: () => body };
}

describe('EfacturaClient spends the quotas', () => {
  /** A fake ANAF that refuses every RASP upload and every listing with its daily-limit answer. */
  const seen: string[] = [];
  let server: http.Server;
  const clientWith = (quotas: DailyQuotaGuard) =>
    new EfacturaClient({ apiBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/test`, quotas });

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      req.on('end', () => {
        if (req.url?.includes('listaMesajePaginatieFactura')) {
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              eroare: 'S-au facut deja 100000 interogari de lista mesaje de catre utilizator in cursul zilei',
              titlu: 'Lista Mesaje',
            }),
          );
          return;
        }
        res.setHeader('content-type', 'application/xml');
        if (req.url?.includes('standard=RASP')) {
          res.end(
            `<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" ExecutionStatus="1"><Errors errorMessage="S-au incarcat deja 1000 de mesaje de tip RASP pentru cui=${CIF} in cursul zilei"/></header>`,
          );
        } else {
          res.end('<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" ExecutionStatus="0" index_incarcare="5001"/>');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const failureOf = async (call: Promise<unknown>): Promise<ApplicationFailure> => {
    try {
      await call;
    } catch (err) {
      assert.ok(err instanceof ApplicationFailure, String(err));
      return err;
    }
    assert.fail('expected a failure');
  };
  const rasp = Buffer.from('<header xmlns="mfp:anaf:dgti:spv:reqMesaj:v1" index_incarcare="1" message="x"/>');

  test("ANAF's daily-limit answer to a RASP upload: every later RASP upload of that CUI is refused without a call", async () => {
    seen.length = 0;
    const client = clientWith(new DailyQuotaGuard());
    const first = await failureOf(client.upload('token', { cif: CIF, standard: 'RASP' }, rasp));
    assert.equal(first.type, FAILURE_TYPES.DAILY_LIMIT);
    assert.match(first.message, /ANAF answered/);
    for (let i = 0; i < 5; i++) {
      const again = await failureOf(client.upload('token', { cif: CIF, standard: 'RASP' }, rasp));
      assert.equal(again.type, FAILURE_TYPES.DAILY_LIMIT);
      assert.match(again.message, /refused locally by the daily quota guard, no ANAF call made: ANAF already answered/);
      assert.ok(Math.abs(Number(again.nextRetryDelay) - Number(first.nextRetryDelay)) < 5_000, "the same wait as ANAF's answer");
    }
    assert.equal(seen.length, 1, 'one refused call reached ANAF');
    // Invoices have no daily limit: they still go.
    const invoice = await client.upload('token', { cif: CIF, standard: 'UBL' }, Buffer.from('<Invoice/>'));
    assert.deepEqual(invoice, { ok: true, value: { accepted: true, uploadIndex: '5001' } });
    assert.equal(seen.length, 2);
  });

  test('the configured limit refuses before ANAF is asked', async () => {
    seen.length = 0;
    const quotas = new DailyQuotaGuard({ RASP_UPLOAD: 2, PAGINATED_LIST: 1000 });
    // Two RASP uploads of OTHER already made today by this process (its other activities).
    quotas.take('RASP_UPLOAD', OTHER);
    quotas.take('RASP_UPLOAD', OTHER);
    const refused = await failureOf(clientWith(quotas).upload('token', { cif: OTHER, standard: 'RASP' }, rasp));
    assert.match(
      refused.message,
      /no ANAF call made: 2 RASP_UPLOAD calls for CUI 18547290 were made on \d{4}-\d{2}-\d{2} \(Romanian day\), the daily limit is 2/,
    );
    assert.equal(seen.length, 0);
  });

  test("the paginated listing: ANAF's refusal stops the next pages and listings of that CUI", async () => {
    seen.length = 0;
    const client = clientWith(new DailyQuotaGuard());
    const q = { cif: CIF, startTime: Date.now() - 3_600_000, endTime: Date.now(), page: 1 };
    const first = await failureOf(client.listPage('token', q));
    assert.equal(first.type, FAILURE_TYPES.DAILY_LIMIT);
    const second = await failureOf(client.listPage('token', { ...q, page: 2 }));
    assert.match(second.message, /refused locally/);
    assert.equal(seen.length, 1);
  });
});
