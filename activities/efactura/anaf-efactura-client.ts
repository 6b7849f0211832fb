import { ApplicationFailure } from '@temporalio/activity';
import type { AnafDailyQuota, DailyQuotaGuard } from '../../lib/anaf/anaf-daily-quotas';
import { hardenedXmlParser } from '../../lib/anaf/xml-parser';
import { parseAnafMinute } from '../../lib/anaf/romanian-time';
import { anafBearerCall, type BearerCallResult, type BearerRequest } from '../anaf/bearer-call';
import { isDailyLimitFailure, isTechnicalError, quotaRefusedLocally, technicalErrorFailure } from '../anaf/failures';
import { checkedAnafIdentifier, isAnafIdentifier } from '../anaf/identifiers';
import type { AnafResponse } from '../anaf/http';
import { multipartFormData } from '../anaf/multipart';
import type { TokenCallResult } from '../oauth/token-provider';
import type {
  AnafMessage,
  MessageFilter,
  MessagePage,
  PdfAnswer,
  SignatureAnswer,
  StareAnswer,
  UploadAnswer,
  UploadParams,
  ValidationAnswer,
  ValidationStandard,
} from './types';

/**
 * api.anaf.ro's e-Factura service (`/{test|prod}/FCTEL/rest/…`), typed. Each method makes
 * one HTTP call with a Bearer token and returns ANAF's answer as our types; a 401/403 is
 * handed back (so the token provider can refresh once and retry), every other problem is
 * classified by activities/anaf/failures.ts and thrown as the ApplicationFailure the
 * workflows key on.
 */

export const EFACTURA_FAILURES = {
  INVALID_ANSWER: 'EfacturaInvalidAnswer',
} as const;

const xml = hardenedXmlParser();

/** ANAF's way of saying "nothing there" in a listing: a 200 with `eroare`, which is not an error for us. */
const EMPTY_LISTING = /^Nu exista mesaje|Pagina solicitata \d+ este mai mare decat numarul/i;

type Attrs = Record<string, unknown>;

function invalidAnswer(operation: string, why: string): ApplicationFailure {
  // The service answered, but not in a shape we know: retrying a read may help, an upload must be reconciled.
  return ApplicationFailure.create({ type: EFACTURA_FAILURES.INVALID_ANSWER, message: `${operation}: ${why}` });
}

function headerOf(res: AnafResponse, operation: string): Attrs {
  let doc: Attrs;
  try {
    doc = xml.parse(res.text()) as Attrs;
  } catch (err) {
    throw invalidAnswer(operation, `the answer is not XML (${(err as Error).message})`);
  }
  const header = doc.header;
  if (!header || typeof header !== 'object') throw invalidAnswer(operation, 'the answer has no <header>');
  return header as Attrs;
}

function str(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as Attrs)[`@${name}`];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function errorMessages(header: Attrs): string[] {
  const raw = header.Errors;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return list.map((e) => str(e, 'errorMessage')).filter((m): m is string => m !== undefined);
}

function flag(on: boolean | undefined): 'DA' | undefined {
  return on ? 'DA' : undefined;
}

export class EfacturaClient {
  private readonly base: string;
  private readonly prodBase: string;
  private readonly quotas: DailyQuotaGuard;
  /** validaresemnatura lives at the host's root, outside /test|/prod: POST /api/validate/signature. */
  private readonly signatureUrl: string;

  /** `quotas`: the worker process's one guard, shared by every client it builds (see calls.ts). */
  constructor(options: { apiBaseUrl: string; quotas: DailyQuotaGuard }) {
    this.base = `${options.apiBaseUrl.replace(/\/+$/, '')}/FCTEL/rest`;
    // validare and transformare exist under /prod only, in every environment: they file nothing.
    this.prodBase = this.base.replace(/\/test\/FCTEL\/rest$/, '/prod/FCTEL/rest');
    this.quotas = options.quotas;
    this.signatureUrl = new URL('/api/validate/signature', options.apiBaseUrl).toString();
  }

  /** One call; 401/403 come back as `unauthorized`, other problems are thrown classified. */
  private call(req: BearerRequest, ctx: { operation: string; idempotent: boolean }): Promise<BearerCallResult> {
    return anafBearerCall(req, ctx, (problem) => problem.kind === 'ANAF_ERROR' && EMPTY_LISTING.test(problem.message));
  }

  /**
   * One call that spends a per-CUI daily quota: refused before calling once the quota is spent
   * (as ANAF's own daily-limit answer would be), and ANAF's daily-limit answer marks it spent
   * for the rest of the Romanian day, so no other activity of this process asks again.
   */
  private async callWithinQuota(
    quota: AnafDailyQuota,
    cif: string,
    req: BearerRequest,
    ctx: { operation: string; idempotent: boolean },
  ): Promise<BearerCallResult> {
    const decision = this.quotas.take(quota, cif);
    if (!decision.allowed) throw quotaRefusedLocally(ctx.operation, decision);
    try {
      return await this.call(req, ctx);
    } catch (err) {
      if (isDailyLimitFailure(err)) this.quotas.markRefusedByAnaf(quota, cif, decision.day);
      throw err;
    }
  }

  private url(path: string, query: Record<string, string | undefined> = {}, base = this.base): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, v);
    const qs = params.toString();
    return `${base}/${path}${qs ? `?${qs}` : ''}`;
  }

  /** `upload` or `uploadb2c`: not idempotent at ANAF, so a lost answer is reported as such, never retried here. */
  async upload(token: string, p: UploadParams, invoice: Buffer): Promise<TokenCallResult<UploadAnswer>> {
    const operation = 'e-Factura upload';
    const req: BearerRequest = {
      method: 'POST',
      url: this.url(p.b2c ? 'uploadb2c' : 'upload', {
        standard: p.standard,
        cif: p.cif,
        extern: flag(p.extern),
        autofactura: flag(p.autofactura),
        executare: flag(p.executare),
      }),
      body: invoice,
      token,
      contentType: 'text/plain',
      accept: 'application/xml',
      timeoutMs: 120_000,
    };
    const ctx = { operation, idempotent: false };
    // ANAF limits RASP files (buyer messages) per CUI per day; invoices have no daily limit.
    const r = p.standard === 'RASP' ? await this.callWithinQuota('RASP_UPLOAD', p.cif, req, ctx) : await this.call(req, ctx);
    if (!r.ok) return r;
    const header = headerOf(r.res, operation);
    const dateResponse = str(header, 'dateResponse');
    const status = str(header, 'ExecutionStatus');
    const index = str(header, 'index_incarcare');
    const meta = dateResponse ? { dateResponse } : {};
    if (status === '0' && index && isAnafIdentifier('upload index', index))
      return { ok: true, value: { accepted: true, uploadIndex: index, ...meta } };
    if (status === '1') {
      const errors = errorMessages(header);
      // "A aparut o eroare tehnica": not accepted, and not a verdict on the invoice either.
      if (isTechnicalError(errors)) throw technicalErrorFailure(operation, errors, { idempotent: false });
      return {
        ok: true,
        value: { accepted: false, errors: errors.length ? errors : ['ANAF refused the upload without a message'], ...meta },
      };
    }
    throw ApplicationFailure.create({
      // The upload was received and answered oddly: it may have been filed, so reconcile.
      type: 'AnafAnswerLost',
      message: `${operation}: unexpected answer (ExecutionStatus=${status ?? 'none'}, index=${JSON.stringify(index?.slice(0, 80) ?? null)})`,
      nonRetryable: true,
    });
  }

  async status(token: string, uploadIndex: string): Promise<TokenCallResult<StareAnswer>> {
    const operation = 'e-Factura stareMesaj';
    const r = await this.call(
      { method: 'GET', url: this.url('stareMesaj', { id_incarcare: uploadIndex }), token, accept: 'application/xml', timeoutMs: 30_000 },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    const header = headerOf(r.res, operation);
    const stare = str(header, 'stare');
    const rawDownloadId = str(header, 'id_descarcare');
    // Checked here, once: the download, the blob store and the view take it as it is.
    const downloadId =
      rawDownloadId === undefined ? undefined : checkedAnafIdentifier('download id', rawDownloadId, operation, r.res.text());
    if (stare === 'in prelucrare') return { ok: true, value: { state: 'in prelucrare' } };
    if ((stare === 'ok' || stare === 'nok') && downloadId) return { ok: true, value: { state: stare, downloadId } };
    if (stare === 'XML cu erori nepreluat de sistem') {
      return { ok: true, value: { state: stare, ...(downloadId ? { downloadId } : {}) } };
    }
    const errors = errorMessages(header);
    if (isTechnicalError(errors)) throw technicalErrorFailure(operation, errors, { idempotent: true });
    if (errors.length) return { ok: true, value: { state: 'error', errors } };
    throw invalidAnswer(operation, `unknown stare ${JSON.stringify(stare ?? null)}`);
  }

  async download(token: string, downloadId: string): Promise<TokenCallResult<Buffer>> {
    const operation = 'e-Factura descarcare';
    const r = await this.call(
      {
        method: 'GET',
        url: this.url('descarcare', { id: downloadId }),
        token,
        accept: 'application/zip',
        timeoutMs: 120_000,
        maxBytes: 40 * 1024 * 1024,
      },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    const body = r.res.body;
    if (body.length < 4 || body.readUInt32LE(0) !== 0x04034b50) {
      throw ApplicationFailure.create({
        type: 'EfacturaArchiveMalformed',
        message: `${operation}: the answer for id ${downloadId} is not a ZIP (${r.res.contentType || 'no content type'}, ${body.length} bytes)`,
      });
    }
    return { ok: true, value: body };
  }

  /** One page of `listaMesajePaginatieFactura` (startTime/endTime in epoch ms, pages from 1). */
  async listPage(
    token: string,
    q: { cif: string; startTime: number; endTime: number; page: number; filter?: MessageFilter },
  ): Promise<TokenCallResult<MessagePage>> {
    const operation = 'e-Factura listaMesajePaginatieFactura';
    const r = await this.callWithinQuota(
      'PAGINATED_LIST',
      q.cif,
      {
        method: 'GET',
        url: this.url('listaMesajePaginatieFactura', {
          startTime: String(Math.floor(q.startTime)),
          endTime: String(Math.floor(q.endTime)),
          cif: q.cif,
          pagina: String(q.page),
          filtru: q.filter,
        }),
        token,
        accept: 'application/json',
        timeoutMs: 60_000,
      },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    const json = parseListing(r.res, operation);
    const messages = toMessages(json.mesaje, operation);
    return {
      ok: true,
      value: {
        messages,
        // Our own counter, never ANAF's index_pagina_curenta: integrators report it as unreliable,
        // and a wrong one would make a caller skip or repeat pages (issue 14 item 6).
        page: q.page,
        totalPages: num(json.numar_total_pagini) ?? (messages.length ? q.page : 0),
        totalRecords: num(json.numar_total_inregistrari) ?? messages.length,
        perPage: num(json.numar_total_inregistrari_per_pagina) ?? messages.length,
      },
    };
  }

  /** `validare/{FACT1|FCN}` (ANAF serves it on the production host only). */
  async validate(token: string, standard: ValidationStandard, invoice: Buffer): Promise<TokenCallResult<ValidationAnswer>> {
    const operation = 'e-Factura validare';
    const r = await this.call(
      {
        method: 'POST',
        url: this.url(`validare/${standard}`, {}, this.prodBase),
        body: invoice,
        token,
        contentType: 'text/plain',
        accept: 'application/json',
        timeoutMs: 60_000,
      },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    const json = parseJsonObject(r.res, operation);
    if (json.stare === 'ok') return { ok: true, value: { valid: true } };
    return { ok: true, value: { valid: false, messages: messagesOf(json) } };
  }

  /**
   * ANAF's validation of its detached signature over an invoice (validaresemnatura): multipart
   * `file` and `signature`; 200 `{msg}` says whether it holds. A `msg` in neither of ANAF's two
   * wordings is an answer we cannot read (EfacturaInvalidAnswer), never taken as valid.
   */
  async validateSignature(token: string, invoice: Buffer, signature: Buffer): Promise<TokenCallResult<SignatureAnswer>> {
    const operation = 'e-Factura validare semnatura';
    const form = multipartFormData([
      { name: 'file', filename: 'factura.xml', contentType: 'text/xml', bytes: invoice },
      { name: 'signature', filename: 'semnatura.xml', contentType: 'text/xml', bytes: signature },
    ]);
    const r = await this.call(
      {
        method: 'POST',
        url: this.signatureUrl,
        body: form.body,
        token,
        contentType: form.contentType,
        accept: 'application/json',
        timeoutMs: 60_000,
      },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    const msg = parseJsonObject(r.res, operation).msg;
    if (typeof msg === 'string' && SIGNATURE_INVALID.test(msg)) return { ok: true, value: { valid: false, message: msg } };
    if (typeof msg === 'string' && SIGNATURE_VALID.test(msg)) return { ok: true, value: { valid: true, message: msg } };
    throw invalidAnswer(operation, `an answer in neither of ANAF's wordings: ${JSON.stringify(msg ?? null).slice(0, 300)}`);
  }

  /** `transformare/{FACT|FCN}[/DA]`: ANAF's PDF rendering; `validate=false` skips ANAF's validation. */
  async toPdf(token: string, standard: ValidationStandard, invoice: Buffer, validate: boolean): Promise<TokenCallResult<PdfAnswer>> {
    const operation = 'e-Factura transformare';
    const r = await this.call(
      {
        method: 'POST',
        url: this.url(`transformare/${standard}${validate ? '' : '/DA'}`, {}, this.prodBase),
        body: invoice,
        token,
        contentType: 'text/plain',
        accept: 'application/pdf, application/json',
        timeoutMs: 60_000,
        maxBytes: 40 * 1024 * 1024,
      },
      { operation, idempotent: true },
    );
    if (!r.ok) return r;
    if (r.res.body.subarray(0, 5).toString('latin1') === '%PDF-') return { ok: true, value: { ok: true, pdf: r.res.body } };
    const json = parseJsonObject(r.res, operation);
    return { ok: true, value: { ok: false, messages: messagesOf(json) } };
  }
}

/** validaresemnatura's two 200 answers (its Swagger examples): "NU au putut fi validate" or "au fost validate cu succes". */
const SIGNATURE_INVALID = /NU au putut fi validate/;
const SIGNATURE_VALID = /au fost validate cu succes/;

function parseJsonObject(res: AnafResponse, operation: string): Attrs {
  try {
    const v = JSON.parse(res.text()) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Attrs;
  } catch {
    // fall through
  }
  throw invalidAnswer(operation, `the answer is not a JSON object (${res.contentType || 'no content type'})`);
}

function parseListing(res: AnafResponse, operation: string): Attrs {
  const json = parseJsonObject(res, operation);
  if (typeof json.eroare === 'string' && EMPTY_LISTING.test(json.eroare)) return { mesaje: [] };
  return json;
}

function messagesOf(json: Attrs): string[] {
  const raw = json.Messages ?? json.messages;
  const list = Array.isArray(raw) ? raw : [];
  const out = list.map((m) => (m && typeof m === 'object' ? (m as Attrs).message : m)).filter((m): m is string => typeof m === 'string');
  return out.length ? out : ['ANAF answered nok without messages'];
}

function num(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function toMessages(raw: unknown, operation: string): AnafMessage[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw invalidAnswer(operation, '`mesaje` is not a list');
  return raw.map((m: Attrs) => {
    const createdAtText = String(m.data_creare ?? '');
    const id = String(m.id ?? '');
    if (!/^\d+$/.test(id)) throw invalidAnswer(operation, `a message without a numeric id (${JSON.stringify(m.id)})`);
    const details = String(m.detalii ?? '');
    return {
      id,
      uploadIndex: String(m.id_solicitare ?? ''),
      cif: String(m.cif ?? ''),
      type: String(m.tip ?? ''),
      details,
      createdAtText,
      createdAt: parseAnafMinute(createdAtText) ?? 0,
      ...listedParties(m, details),
    };
  });
}

/**
 * `cif_emitent` / `cif_beneficiar`: ANAF's presentation lists them among the answer's fields, its
 * examples carry them inside `detalii` ("… emisa de cif_emitent=X pentru cif_beneficiar=Y"). A
 * field wins; otherwise `detalii` is read. Absent (error messages) when ANAF names neither.
 */
function listedParties(m: Attrs, details: string): { supplierCif?: string; buyerCif?: string } {
  const field = (name: string) => (typeof m[name] === 'string' || typeof m[name] === 'number' ? String(m[name]) : undefined);
  const supplierCif = field('cif_emitent') ?? /\bcif_emitent=(\d+)/.exec(details)?.[1];
  const buyerCif = field('cif_beneficiar') ?? /\bcif_beneficiar=(\d+)/.exec(details)?.[1];
  return { ...(supplierCif ? { supplierCif } : {}), ...(buyerCif ? { buyerCif } : {}) };
}
