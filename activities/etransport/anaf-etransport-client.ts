import { ApplicationFailure } from '@temporalio/activity';
import { parseAnafMinute } from '../../lib/anaf/romanian-time';
import type { ListedDeclaration } from '../../schemas/etransport-declaration';
import { anafBearerCall, type BearerCallResult, type BearerRequest } from '../anaf/bearer-call';
import { FAILURE_TYPES, isTechnicalError, technicalErrorFailure } from '../anaf/failures';
import { checkedAnafIdentifier, isAnafIdentifier } from '../anaf/identifiers';
import type { AnafResponse } from '../anaf/http';
import type { TokenCallResult } from '../oauth/token-provider';

/**
 * api.anaf.ro's e-Transport service (`/{test|prod}/ETRANSPORT/ws/v1/…`), typed. Every
 * answer is JSON: `ExecutionStatus` 0/1, ANAF's messages in `Errors[].errorMessage`
 * (capital E), `dateResponse`, `trace_id`; `info` answers a bare array, or `{error}`.
 * Transport and HTTP problems are classified by activities/anaf (shared with e-Factura).
 * `descarcare` is not used: ANAF removed it from e-Transport.
 */

export const ETRANSPORT_FAILURES = { INVALID_ANSWER: 'EtransportInvalidAnswer' } as const;

export type EtransportUploadAnswer =
  | { accepted: true; uploadIndex: string; uit?: string; dateResponse?: string; traceId?: string; warning?: string }
  | { accepted: false; errors: string[]; dateResponse?: string; traceId?: string };

export type EtransportStare =
  | { state: 'in prelucrare' }
  | { state: 'ok' }
  | { state: 'nok'; errors: string[] }
  | { state: 'XML cu erori nepreluat de sistem' }
  /** ANAF's Errors without a stare: unknown index, no rights. */
  | { state: 'error'; errors: string[] };

/** One active transport of `info` (what a carrier sees). */
export interface CarrierTransport {
  uit: string;
  declarantCif?: string;
  declarantName?: string;
  refDeclarant?: string;
  transportDate?: string;
  uitExpiresAt?: string;
  carrierCode?: string;
  carrierName?: string;
  vehicle?: string;
  trailer1?: string;
  trailer2?: string;
  vehicleChanges?: unknown[];
  start?: unknown;
  end?: unknown;
  documents?: string;
}

export interface InfoQuery {
  carrierCif: string;
  declarantCif?: string;
  uit?: string;
  refDeclarant?: string;
}

type Json = Record<string, unknown>;

const EMPTY_LISTA = /^Nu exista mesaje/i;
const EMPTY_INFO = /^Nu exista informatii/i;

function invalidAnswer(operation: string, why: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ETRANSPORT_FAILURES.INVALID_ANSWER, message: `${operation}: ${why}` });
}

function jsonOf(res: AnafResponse, operation: string): unknown {
  try {
    return JSON.parse(res.text()) as unknown;
  } catch {
    throw invalidAnswer(operation, `the answer is not JSON (${res.contentType || 'no content type'}, HTTP ${res.status})`);
  }
}

function objectOf(res: AnafResponse, operation: string): Json {
  const v = jsonOf(res, operation);
  if (v && typeof v === 'object' && !Array.isArray(v)) return v as Json;
  throw invalidAnswer(operation, 'the answer is not a JSON object');
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined);

export function errorsOf(json: Json): string[] {
  const raw = json.Errors;
  const list = Array.isArray(raw) ? raw : raw && typeof raw === 'object' ? [raw] : [];
  return list.map((e) => str((e as Json)?.errorMessage)).filter((m): m is string => m !== undefined);
}

const meta = (json: Json) => ({
  ...(str(json.dateResponse) ? { dateResponse: str(json.dateResponse)! } : {}),
  ...(str(json.trace_id) ? { traceId: str(json.trace_id)! } : {}),
});

/** "20221010000000" / "2022-10-10T00:00:00" → "2022-10-10". */
function isoDay(v: unknown): string | undefined {
  const s = str(v);
  const m = s ? /^(\d{4})-?(\d{2})-?(\d{2})/.exec(s) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}` : undefined;
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

export function listedDeclarationOf(m: Json): ListedDeclaration {
  const created = str(m.data_creare);
  const confirmation = m.confirmare && typeof m.confirmare === 'object' ? (m.confirmare as Json) : undefined;
  const messages = Array.isArray(m.mesaje) ? (m.mesaje as Json[]) : [];
  return compact({
    uploadIndex: str(m.id_incarcare),
    uit: str(m.uit),
    type: str(m.tip),
    // ANAF's own sample omits tip/stare on valid entries: no ERR message means valid.
    state: str(m.stare) ?? (messages.some((x) => x?.tip === 'ERR') ? 'ERR' : 'OK'),
    declarantCif: str(m.cod_decl),
    refDeclarant: str(m.ref_decl),
    operationType: str(m.tip_op),
    transportDate: isoDay(m.data_transp),
    vehicle: str(m.nr_veh),
    partnerCode: str(m.pc_cod),
    carrierCode: str(m.tr_cod),
    createdAt: created ? parseAnafMinute(created.slice(0, 12)) : undefined,
    confirmation: confirmation
      ? compact({ type: str(confirmation.tip_conf), uploadIndex: str(confirmation.id_incarcare), declaredAt: str(confirmation.data_decl) })
      : undefined,
    vehicleChanges: Array.isArray(m.modif_veh)
      ? (m.modif_veh as Json[]).map((c) =>
          compact({ vehicle: str(c.nr_veh), uploadIndex: str(c.id_incarcare), date: isoDay(c.data_modif_veh) }),
        )
      : undefined,
    messages: messages.map((x) => ({ type: str(x?.tip) ?? 'ERR', text: str(x?.mesaj) ?? '' })),
  });
}

function carrierTransportOf(r: Json): CarrierTransport {
  return compact({
    uit: str(r.uit) ?? '',
    declarantCif: str(r.cod_decl),
    declarantName: str(r.den_decl),
    refDeclarant: str(r.ref_decl),
    transportDate: isoDay(r.data_transp),
    uitExpiresAt: str(r.data_exp_uit),
    carrierCode: str(r.tr_cod),
    carrierName: str(r.tr_den),
    vehicle: str(r.nr_veh),
    trailer1: str(r.nr_rem1),
    trailer2: str(r.nr_rem2),
    vehicleChanges: Array.isArray(r.modif_veh) ? (r.modif_veh as unknown[]) : undefined,
    start: r.loc_start,
    end: r.loc_final,
    documents: str(r.documente),
  });
}

function anafRefused(operation: string, errors: string[]): ApplicationFailure {
  // ANAF answered and said no (rights, bad parameter): asking again changes nothing.
  return ApplicationFailure.create({
    type: FAILURE_TYPES.ANAF_ERROR,
    message: `${operation}: ${errors.join('; ')}`,
    details: [{ errors }],
    nonRetryable: true,
  });
}

export class EtransportClient {
  private readonly base: string;

  constructor(options: { apiBaseUrl: string }) {
    this.base = `${options.apiBaseUrl.replace(/\/+$/, '')}/ETRANSPORT/ws/v1`;
  }

  private call(req: BearerRequest, ctx: { operation: string; idempotent: boolean }): Promise<BearerCallResult> {
    return anafBearerCall({ accept: 'application/json', ...req }, ctx);
  }

  /** `upload/ETRANSP/{cif}/2`: not idempotent at ANAF, so a lost answer is reported as such, never retried here. */
  async upload(token: string, cif: string, xml: Buffer): Promise<TokenCallResult<EtransportUploadAnswer>> {
    const operation = 'e-Transport upload';
    const r = await this.call(
      {
        method: 'POST',
        url: `${this.base}/upload/ETRANSP/${encodeURIComponent(cif)}/2`,
        body: xml,
        token,
        contentType: 'application/xml',
        timeoutMs: 120_000,
      },
      { operation, idempotent: false },
    );
    if (!r.ok) return r;
    let json: Json;
    try {
      json = objectOf(r.res, operation);
    } catch {
      // Received, answered oddly: it may have been filed, so the workflow reconciles.
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.ANSWER_LOST,
        message: `${operation}: the answer is not JSON`,
        nonRetryable: true,
      });
    }
    const status = str(json.ExecutionStatus);
    const index = str(json.index_incarcare);
    if (status === '0' && index && isAnafIdentifier('upload index', index)) {
      const uit = str(json.UIT);
      return {
        ok: true,
        value: {
          accepted: true,
          uploadIndex: index,
          ...(uit ? { uit: checkedAnafIdentifier('UIT', uit, operation, r.res.text()) } : {}),
          ...(str(json.atentie) ? { warning: str(json.atentie)! } : {}),
          ...meta(json),
        },
      };
    }
    if (status === '1') {
      const errors = errorsOf(json);
      // "A aparut o eroare tehnica": not accepted, and not a verdict on the declaration either.
      if (isTechnicalError(errors)) throw technicalErrorFailure(operation, errors, { idempotent: false });
      return {
        ok: true,
        value: { accepted: false, errors: errors.length ? errors : ['ANAF refused the upload without a message'], ...meta(json) },
      };
    }
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.ANSWER_LOST,
      message: `${operation}: unexpected answer (ExecutionStatus=${status ?? 'none'}, index=${index ?? 'none'})`,
      nonRetryable: true,
    });
  }

  async status(token: string, uploadIndex: string): Promise<TokenCallResult<EtransportStare>> {
    const operation = 'e-Transport stareMesaj';
    const r = await this.call(
      { method: 'GET', url: `${this.base}/stareMesaj/${encodeURIComponent(uploadIndex)}`, token, timeoutMs: 30_000 },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    const json = objectOf(r.res, operation);
    const stare = str(json.stare);
    if (stare === 'in prelucrare' || stare === 'ok' || stare === 'XML cu erori nepreluat de sistem')
      return { ok: true, value: { state: stare } };
    const errors = errorsOf(json);
    if (stare === 'nok')
      return { ok: true, value: { state: 'nok', errors: errors.length ? errors : ['ANAF answered nok without messages'] } };
    if (isTechnicalError(errors)) throw technicalErrorFailure(operation, errors, { idempotent: true });
    if (errors.length) return { ok: true, value: { state: 'error', errors } };
    throw invalidAnswer(operation, `unknown stare ${JSON.stringify(stare ?? null)}`);
  }

  /** `lista/{zile}/{cif}`; "Nu exista mesaje" is an empty list, not an error. */
  async list(token: string, days: number, cif: string): Promise<TokenCallResult<ListedDeclaration[]>> {
    const operation = 'e-Transport lista';
    const r = await this.call(
      { method: 'GET', url: `${this.base}/lista/${days}/${encodeURIComponent(cif)}`, token, timeoutMs: 60_000 },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    const json = objectOf(r.res, operation);
    const errors = errorsOf(json);
    if (errors.length) {
      if (errors.every((e) => EMPTY_LISTA.test(e))) return { ok: true, value: [] };
      throw anafRefused(operation, errors);
    }
    if (json.mesaje !== undefined && !Array.isArray(json.mesaje)) throw invalidAnswer(operation, '`mesaje` is not a list');
    return { ok: true, value: ((json.mesaje as Json[] | undefined) ?? []).map(listedDeclarationOf) };
  }

  /** `info?cui_op=…`: the active transports a carrier (transport organizer) was declared for. */
  async info(token: string, q: InfoQuery): Promise<TokenCallResult<CarrierTransport[]>> {
    const operation = 'e-Transport info';
    const params = new URLSearchParams({ cui_op: q.carrierCif });
    if (q.declarantCif) params.set('cui_decl', q.declarantCif);
    if (q.uit) params.set('uit', q.uit);
    if (q.refDeclarant) params.set('ref_decl', q.refDeclarant);
    const r = await this.call(
      { method: 'GET', url: `${this.base}/info?${params.toString()}`, token, timeoutMs: 60_000 },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    const json = jsonOf(r.res, operation);
    if (Array.isArray(json)) return { ok: true, value: (json as Json[]).map(carrierTransportOf) };
    const error = json && typeof json === 'object' ? str((json as Json).error) : undefined;
    if (error && EMPTY_INFO.test(error)) return { ok: true, value: [] };
    if (error) throw anafRefused(operation, [error]);
    throw invalidAnswer(operation, 'neither a list nor an error');
  }
}
