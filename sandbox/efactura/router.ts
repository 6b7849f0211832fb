import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { z } from 'zod';
import { withCheckDigit } from '../../schemas/cif';
import { HOSTILE_ARCHIVE_KINDS, hostileArchive, zipFiles } from './archive';
import { sampleInvoice, sandboxSignatureHolds, springError, stareAnswer, stareError, uploadAccepted, uploadRejected } from './documents';
import {
  cifDigits,
  extractFacts,
  judgeInvoice,
  MARKER_ZIP_BOMB,
  MARKER_ZIP_TRUNCATED,
  parseXml,
  rootError,
  RULE_MESSAGES,
  unexpectedRoot,
  UPLOAD_STANDARDS,
  type InvoiceFacts,
  type UploadStandard,
  type Verdict,
} from './invoice-xml';
import type { EfacturaOptions } from './options';
import { minimalPdf } from './pdf';
import { EFACTURA_ENVS, EfacturaState, FILTERS, type EfacturaEnv, type MessageRecord, type MessageType, type UploadRecord } from './state';
import { anafDateTime, anafMinute, romanianDay } from './time';

/**
 * The HTTP face of the simulated e-Factura service: ANAF's paths under /test and /prod
 * (…/FCTEL/rest/upload, uploadb2c, stareMesaj, descarcare, listaMesajeFactura,
 * listaMesajePaginatieFactura, validare, transformare), each answering in the shape
 * ANAF's Swagger pages document: XML for upload and stareMesaj, JSON `{eroare, titlu}`
 * (HTTP 200) for listing and download refusals, Spring's `{timestamp, status, error,
 * message}` 400 for missing parameters, a ZIP for a download.
 */

/** Who the caller may act for. `cifs` absent = every CIF (a certificate without a CIF list). */
export interface CallerRights {
  /** The certificate serial; echoed as the listings' `serial`. */
  subject?: string;
  cifs?: readonly string[];
}

export interface RouterDeps {
  requireBearer: RequestHandler;
  now: () => number;
  options: EfacturaOptions;
  state: EfacturaState;
  identityOf: (req: Request) => CallerRights | undefined;
  addReceivedInvoice: (input: ReceivedInvoiceInput) => ReceivedInvoice;
}

export interface ReceivedInvoiceInput {
  /** Whose FACTURA PRIMITA it is. */
  buyerCif: string;
  /** Default: a fixed sandbox supplier (or the one named in `xml`). */
  supplierCif?: string;
  /** The invoice; a small UBL invoice is generated when absent. */
  xml?: string;
  /** When it appears in the buyer's listing (epoch ms; default now). */
  at?: number;
  /** Default 'test' (the sandbox's default API base is /test). */
  env?: EfacturaEnv;
  /** For a generated invoice (default SBX-<index>). */
  number?: string;
  /** For a generated invoice, yyyy-mm-dd (default: the day of `at`). */
  issueDate?: string;
  /**
   * The message (download) id, instead of the next one: ANAF numbers /test and /prod apart, so the same id
   * can name two messages, one per environment; this places such a pair (sandbox only). Refused if taken in `env`.
   */
  messageId?: string;
}

export interface ReceivedInvoice {
  env: EfacturaEnv;
  /** id_solicitare of the message. */
  index: string;
  /** The id to pass to descarcare. */
  id: string;
  buyerCif: string;
  supplierCif: string;
  number?: string;
  issueDate?: string;
}

/** The supplier of invoices the sandbox makes up (a CIF with a valid check digit). */
export const SANDBOX_SUPPLIER_CIF = withCheckDigit('1590082');

const MB = 1024 * 1024;
const MAX_UPLOAD_BYTES = 10 * MB;
const MAX_VALIDATE_BYTES = 5 * MB;
const DAY_MS = 24 * 3600 * 1000;
const LISTING_WINDOW_DAYS = 60;
const TITLU_LISTA = 'Lista Mesaje';
const TITLU_DESCARCARE = 'Descarcare mesaj';

// ---------------------------------------------------------------- small helpers

/** One query parameter; a repeated one counts by its first value, as Spring does. */
function param(req: Request, name: string): string | undefined {
  const v = (req.query as Record<string, unknown>)[name];
  const first = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' ? first : undefined;
}

function present(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

const isDigits = (value: string) => /^[0-9]+$/.test(value);

/**
 * The request body, raw, whatever its content type (ANAF accepts any). Reads at most
 * `max + 1` bytes into memory and drains the rest, so an oversize upload still gets
 * ANAF's own "mai mare de 10 MB" answer instead of a dropped connection.
 */
async function readBody(req: Request, max: number): Promise<{ body: Buffer; size: number }> {
  const parsed: unknown = req.body;
  if (Buffer.isBuffer(parsed)) return { body: parsed.subarray(0, max + 1), size: parsed.length };
  if (typeof parsed === 'string') {
    const b = Buffer.from(parsed, 'utf8');
    return { body: b.subarray(0, max + 1), size: b.length };
  }
  if (req.readableEnded) return { body: Buffer.alloc(0), size: 0 };
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (kept <= max) {
        const part = chunk.subarray(0, max + 1 - kept);
        chunks.push(part);
        kept += part.length;
      }
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), size }));
    req.on('error', reject);
  });
}

function sendXml(res: Response, xml: string): void {
  res.status(200).type('application/xml; charset=utf-8').send(xml);
}

function sendEroare(res: Response, eroare: string, titlu: string): void {
  res.status(200).json({ eroare, titlu });
}

function sendSpring400(res: Response, now: number, message: string): void {
  res.status(400).json(springError(now, 400, 'Bad Request', message));
}

function messageView(m: MessageRecord) {
  return {
    data_creare: anafMinute(m.createdAt),
    cif: m.cif,
    id_solicitare: m.idSolicitare,
    detalii: m.detalii,
    tip: m.tip,
    id: m.id,
  };
}

// ---------------------------------------------------------------- rights

type RightsCheck = { ok: true } | { ok: false; none: boolean };

function rightsFor(rights: CallerRights | undefined, cifs: Array<string | undefined>): RightsCheck {
  if (!rights?.cifs) return { ok: true };
  const mine = new Set(rights.cifs.map((c) => cifDigits(c) ?? c));
  if (mine.size === 0) return { ok: false, none: true };
  return cifs.some((c) => c !== undefined && mine.has(c)) ? { ok: true } : { ok: false, none: false };
}

// ---------------------------------------------------------------- the router

export function buildRouter(deps: RouterDeps, options: { admin: boolean }): { router: Router; adminRouter: Router } {
  const { state, now } = deps;
  const router = express.Router();

  const rateLimit: RequestHandler = (_req, res, next) => {
    const slot = state.takeMinuteSlot();
    if (slot.ok) return next();
    res.status(429).set('retry-after', String(slot.retryAfterSeconds)).type('text/plain; charset=utf-8').send('Too Many Requests');
  };

  const adminRouter = express.Router();
  mountAdmin(adminRouter, deps);
  if (options.admin) router.use('/__sandbox', adminRouter);

  // At the host's root, outside /test|/prod (ANAF's validaresemnatura: POST /api/validate/signature).
  router.post('/api/validate/signature', deps.requireBearer, rateLimit, signatureValidationHandler(deps));

  for (const env of EFACTURA_ENVS) {
    const base = `/${env}/FCTEL/rest`;
    router.use(base, deps.requireBearer, rateLimit);
    router.post(`${base}/upload`, uploadHandler(deps, env, 'upload'));
    router.post(`${base}/uploadb2c`, uploadHandler(deps, env, 'uploadb2c'));
    router.get(`${base}/stareMesaj`, stareHandler(deps, env));
    router.get(`${base}/descarcare`, descarcareHandler(deps, env));
    router.get(`${base}/listaMesajeFactura`, simpleListHandler(deps, env));
    router.get(`${base}/listaMesajePaginatieFactura`, paginatedListHandler(deps, env));
    router.post([`${base}/validare`, `${base}/transformare`], (req, res) => {
      const service = req.path.endsWith('transformare') ? 'transformare' : 'validare';
      res.status(404).json({ timestamp: new Date(now()).toISOString(), status: 404, error: 'Not Found', path: `/FCTEL/rest/${service}/` });
    });
    // ANAF serves validare and transformare under /prod only (they change nothing at ANAF), so
    // the sandbox refuses them under /test as ANAF does: a client must not depend on them there.
    if (env !== 'prod') {
      router.post([`${base}/validare/*rest`, `${base}/transformare/*rest`], (req, res) => {
        res
          .status(404)
          .json({ timestamp: new Date(now()).toISOString(), status: 404, error: 'Not Found', path: req.originalUrl.split('?')[0] });
      });
      continue;
    }
    router.post(`${base}/validare/:standard`, validareHandler(deps));
    router.post(`${base}/transformare/:standard`, transformareHandler(deps, false));
    router.post(`${base}/transformare/:standard/:novld`, (req, res, next) =>
      transformareHandler(deps, req.params.novld === 'DA')(req, res, next),
    );
  }
  return { router, adminRouter };
}

// ---------------------------------------------------------------- upload

function uploadHandler(deps: RouterDeps, env: EfacturaEnv, source: 'upload' | 'uploadb2c'): RequestHandler {
  const { state, now, options } = deps;
  return async (req, res) => {
    const at = now();
    const standardParam = param(req, 'standard');
    const cif = param(req, 'cif');
    if (!present(standardParam) || !present(cif)) {
      state.counters.uploadsRejected += 1;
      sendSpring400(res, at, 'Parametrii standard si cif sunt obligatorii');
      return;
    }
    const { body, size } = await readBody(req, MAX_UPLOAD_BYTES);
    if (size === 0) {
      state.counters.uploadsRejected += 1;
      sendSpring400(res, at, 'Trebuie sa aveti atasat in request un fisier de tip xml');
      return;
    }
    const reject = (message: string) => {
      state.counters.uploadsRejected += 1;
      sendXml(res, uploadRejected(at, [message]));
    };
    const standard = standardParam as UploadStandard;
    if (!UPLOAD_STANDARDS.includes(standard)) return reject('Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP');
    if (!isDigits(cif)) return reject(`CIF introdus= ${cif} nu este un numar`);
    const flag = (name: string) => param(req, name);
    const extern = flag('extern');
    const autofactura = flag('autofactura');
    const executare = flag('executare');
    if (extern !== undefined && extern !== 'DA') return reject('Daca parametrul extern trebuie completat, valoarea acceptata este DA');
    if (autofactura !== undefined && autofactura !== 'DA')
      return reject('Daca parametrul autofacturare trebuie completat, valoarea acceptata este DA');
    if (executare !== undefined && executare !== 'DA')
      return reject('Daca parametrul executare trebuie completat, valoarea acceptata este DA');
    if (size > MAX_UPLOAD_BYTES) return reject('Marime fisier transmis mai mare de 10 MB.');
    const rights = rightsFor(deps.identityOf(req), [cif]);
    if (!rights.ok)
      return reject(rights.none ? 'Nu exista niciun CIF pentru care sa aveti drept in SPV' : `Nu aveti drept in SPV pentru CIF=${cif}`);

    const text = body.toString('utf8');
    const parsed = parseXml(text);
    if (!parsed.ok) return reject(`Fisierul transmis nu este valid. ${parsed.error}`);
    const wrongRoot = rootError(text, parsed.xml, standard);
    if (wrongRoot) return reject(`Fisierul transmis nu este valid. ${wrongRoot} `);

    if (standard === 'RASP' && !state.takeDaily('rasp', `${env}|${cif}`, options.raspDailyLimit)) {
      return reject(`S-au incarcat deja ${options.raspDailyLimit} de mesaje de tip RASP pentru cui=${cif} in cursul zilei`);
    }

    const facts = extractFacts(parsed.xml);
    let verdict: Verdict;
    let invoiceFacts: InvoiceFacts | undefined;
    let answers: UploadRecord | undefined;
    if (facts.kind === 'rasp') {
      const target = facts.invoiceIndex ? state.upload(facts.invoiceIndex) : undefined;
      if (!facts.invoiceIndex) verdict = { outcome: 'nok', errors: [RULE_MESSAGES.raspMissingIndex] };
      else if (!target || target.env !== env || target.outcome !== 'ok' || state.stareOf(target, at) !== 'ok') {
        verdict = { outcome: 'nok', errors: [RULE_MESSAGES.raspUnknownInvoice(facts.invoiceIndex)] };
      } else if (target.buyerCif !== cif) verdict = { outcome: 'nok', errors: [RULE_MESSAGES.raspNotBuyer(facts.invoiceIndex, cif)] };
      else {
        verdict = { outcome: 'ok' };
        answers = target;
      }
    } else {
      invoiceFacts = facts;
      verdict = judgeInvoice(facts, { requestCif: cif, autofactura: autofactura === 'DA', executare: executare === 'DA' });
    }

    const record = state.record({
      env,
      source,
      standard,
      requestCif: cif,
      ...(invoiceFacts ? { facts: invoiceFacts } : {}),
      extern: extern === 'DA',
      autofactura: autofactura === 'DA',
      executare: executare === 'DA',
      xml: body,
      verdict,
      ...(answers ? { answers } : {}),
    });
    state.noteCif(env, cif);
    if (invoiceFacts?.supplierCif) state.noteCif(env, invoiceFacts.supplierCif);
    if (record.downloadId && invoiceFacts?.notes.some((n) => n.includes(MARKER_ZIP_BOMB)))
      state.serveHostileArchive(record.downloadId, 'bomb');
    else if (record.downloadId && invoiceFacts?.notes.some((n) => n.includes(MARKER_ZIP_TRUNCATED)))
      state.serveHostileArchive(record.downloadId, 'truncated', 1);
    sendXml(res, uploadAccepted(at, record.index));
  };
}

// ---------------------------------------------------------------- stareMesaj

function stareHandler(deps: RouterDeps, env: EfacturaEnv): RequestHandler {
  const { state, now, options } = deps;
  return (req, res) => {
    const at = now();
    const id = param(req, 'id_incarcare');
    if (!present(id)) return sendSpring400(res, at, 'Parametrul id_incarcare este obligatoriu');
    if (!isDigits(id)) return sendXml(res, stareError(`Id_incarcare introdus= ${id} nu este un numar intreg`));
    const identity = deps.identityOf(req);
    if (identity?.cifs && identity.cifs.length === 0) return sendXml(res, stareError('Nu exista niciun CIF petru care sa aveti drept'));
    const upload = state.upload(id);
    if (!upload || upload.env !== env) return sendXml(res, stareError(`Nu exista factura cu id_incarcare= ${id}`));
    if (!rightsFor(identity, [upload.requestCif, upload.supplierCif]).ok) {
      return sendXml(res, stareError(`Nu aveti dreptul de inteorgare pentru id_incarcare= ${id}`));
    }
    if (!state.takeDaily('stare', `${env}|${id}`, options.dailyStareLimit)) {
      // ANAF's documented wording for this limit speaks of "descarcari" too.
      return sendXml(res, stareError(`S-au facut deja ${options.dailyStareLimit} descarcari de mesaj in cursul zilei`));
    }
    state.counters.stareQueries += 1;
    const stare = state.stareOf(upload, at);
    sendXml(res, stareAnswer(stare, stare === 'ok' || stare === 'nok' ? upload.downloadId : undefined));
  };
}

// ---------------------------------------------------------------- descarcare

function descarcareHandler(deps: RouterDeps, env: EfacturaEnv): RequestHandler {
  const { state, now, options } = deps;
  return (req, res) => {
    const at = now();
    const id = param(req, 'id');
    if (!present(id)) return sendSpring400(res, at, 'Parametrul id este obligatoriu');
    if (!isDigits(id)) return sendEroare(res, `Id descarcare introdus= ${id} nu este un numar intreg`, TITLU_DESCARCARE);
    const download = state.download(id, env);
    if (!download || at < download.readyAt) {
      return sendEroare(res, `Pentru id=${id} nu exista inregistrata nici o factura`, TITLU_DESCARCARE);
    }
    if (!rightsFor(deps.identityOf(req), download.owners).ok)
      return sendEroare(res, 'Nu aveti dreptul sa descarcati acesta factura', TITLU_DESCARCARE);
    if (!state.takeDaily('descarcare', `${env}|${id}`, options.dailyDownloadLimit)) {
      return sendEroare(res, `S-au facut deja ${options.dailyDownloadLimit} descarcari de mesaj in cursul zilei`, TITLU_DESCARCARE);
    }
    state.counters.downloads += 1;
    const hostile = state.takeHostile(id, env);
    const zip = hostile ? hostileArchive(hostile, download.files, download.readyAt) : zipFiles(download.files, download.readyAt);
    res.status(200).set('content-disposition', `attachment; filename="${id}.zip"`).type('application/zip').send(zip);
  };
}

// ---------------------------------------------------------------- listings

type ListCheck = { ok: true; types?: readonly MessageType[] } | { ok: false };

/** filtru, rights and the daily quota: the checks both listings share, in ANAF's order. */
function listCommon(
  deps: RouterDeps,
  req: Request,
  res: Response,
  env: EfacturaEnv,
  cif: string,
  quota: { name: 'listaSimpla' | 'listaPaginata'; limit: number },
): ListCheck {
  const filtru = param(req, 'filtru');
  let types: readonly MessageType[] | undefined;
  if (filtru !== undefined && filtru !== '') {
    const selected = FILTERS[filtru];
    if (!selected) {
      sendEroare(res, 'Valorile acceptate pentru parametrul filtru sunt E, T, P sau R', TITLU_LISTA);
      return { ok: false };
    }
    types = selected;
  }
  const rights = rightsFor(deps.identityOf(req), [cif]);
  if (!rights.ok) {
    sendEroare(
      res,
      rights.none ? 'Nu exista niciun CIF pentru care sa aveti drept in SPV' : `Nu aveti drept in SPV pentru CIF=${cif}`,
      TITLU_LISTA,
    );
    return { ok: false };
  }
  if (!deps.state.takeDaily(quota.name, `${env}|${cif}`, quota.limit)) {
    sendEroare(res, `S-au facut deja ${quota.limit} interogari de lista mesaje de catre utilizator in cursul zilei`, TITLU_LISTA);
    return { ok: false };
  }
  deps.state.noteCif(env, cif);
  return types ? { ok: true, types } : { ok: true };
}

function serialOf(deps: RouterDeps, req: Request): string {
  return deps.identityOf(req)?.subject ?? 'ANAFSANDBOX';
}

function simpleListHandler(deps: RouterDeps, env: EfacturaEnv): RequestHandler {
  const { state, now, options } = deps;
  return (req, res) => {
    const at = now();
    const zile = param(req, 'zile');
    const cif = param(req, 'cif');
    if (!present(zile) || !present(cif)) return sendSpring400(res, at, 'Parametrii zile si cif sunt obligatorii');
    if (!isDigits(cif)) return sendEroare(res, `CIF introdus= ${cif} nu este un numar`, TITLU_LISTA);
    if (!/^-?[0-9]+$/.test(zile)) return sendEroare(res, `Numarul de zile introdus= ${zile} nu este un numar intreg`, TITLU_LISTA);
    const days = Number(zile);
    if (days < 1 || days > LISTING_WINDOW_DAYS) return sendEroare(res, 'Numarul de zile trebuie sa fie intre 1 si 60', TITLU_LISTA);
    const common = listCommon(deps, req, res, env, cif, { name: 'listaSimpla', limit: options.simpleListDailyLimit });
    if (!common.ok) return;
    state.counters.simpleLists += 1;
    const found = state.list(env, cif, at - days * DAY_MS, at, common.types);
    if (found.length === 0) return sendEroare(res, `Nu exista mesaje in ultimele ${days} zile`, TITLU_LISTA);
    if (found.length > options.listPageSize) {
      return sendEroare(
        res,
        `Lista de mesaje este mai mare decat numarul de ${options.listPageSize} elemente permise in pagina. Folositi endpoint-ul cu paginatie.`,
        TITLU_LISTA,
      );
    }
    res.status(200).json({
      mesaje: found.map(messageView),
      serial: serialOf(deps, req),
      cui: cif,
      titlu: `Lista Mesaje disponibile din ultimele ${days} zile`,
    });
  };
}

function paginatedListHandler(deps: RouterDeps, env: EfacturaEnv): RequestHandler {
  const { state, now, options } = deps;
  return (req, res) => {
    const at = now();
    const startTime = param(req, 'startTime');
    const endTime = param(req, 'endTime');
    const cif = param(req, 'cif');
    const pagina = param(req, 'pagina');
    if (!present(startTime) || !present(endTime) || !present(cif) || !present(pagina)) {
      return sendSpring400(res, at, 'Parametrii startTime, endTime, cif si pagina sunt obligatorii');
    }
    const notANumber = (name: string, value: string) => `${name} = ${value} nu este un numar sau nu are o valoare acceptata de sistem`;
    if (!isDigits(cif))
      return sendEroare(res, `CIF introdus= ${cif} nu este un numar sau nu are o valoare acceptata de sistem`, TITLU_LISTA);
    if (!isDigits(startTime)) return sendEroare(res, notANumber('startTime', startTime), TITLU_LISTA);
    if (!isDigits(endTime)) return sendEroare(res, notANumber('endTime', endTime), TITLU_LISTA);
    if (!isDigits(pagina) || Number(pagina) < 1) return sendEroare(res, notANumber('pagina', pagina), TITLU_LISTA);
    const start = Number(startTime);
    const end = Number(endTime);
    const page = Number(pagina);
    if (start < at - LISTING_WINDOW_DAYS * DAY_MS) {
      return sendEroare(
        res,
        `startTime = ${anafDateTime(start)} nu poate fi mai vechi de 60 de zile fata de momentul requestului`,
        TITLU_LISTA,
      );
    }
    if (end > at) return sendEroare(res, `endTime = ${anafDateTime(end)} nu poate in viitor fata de momentul requestului`, TITLU_LISTA);
    if (end <= start)
      return sendEroare(res, `endTime = ${anafDateTime(end)} nu poate fi <= startTime = ${anafDateTime(start)}`, TITLU_LISTA);
    const common = listCommon(deps, req, res, env, cif, { name: 'listaPaginata', limit: options.paginatedListDailyLimit });
    if (!common.ok) return;
    state.counters.paginatedLists += 1;
    const found = state.list(env, cif, start, end, common.types);
    if (found.length === 0) return sendEroare(res, 'Nu exista mesaje in intervalul selectat', TITLU_LISTA);
    const size = options.listPageSize;
    const pages = Math.ceil(found.length / size);
    if (page > pages)
      return sendEroare(res, `Pagina solicitata ${page} este mai mare decat numarul toatal de pagini ${pages}`, TITLU_LISTA);
    const slice = found.slice((page - 1) * size, page * size);
    res.status(200).json({
      mesaje: slice.map(messageView),
      numar_inregistrari_in_pagina: slice.length,
      numar_total_inregistrari_per_pagina: size,
      numar_total_inregistrari: found.length,
      numar_total_pagini: pages,
      index_pagina_curenta: options.misreportedPageIndex ?? page,
      serial: serialOf(deps, req),
      cui: cif,
      titlu: `Lista Mesaje disponibile din intervalul ${anafDateTime(start)} - ${anafDateTime(end)}`,
    });
  };
}

// ---------------------------------------------------------------- validare / transformare

const VALIDATION_ROOTS: Record<string, readonly string[]> = { FACT1: ['Invoice', 'CrossIndustryInvoice'], FCN: ['CreditNote'] };

type Validation = { ok: true; facts?: InvoiceFacts; root?: string } | { ok: false; messages: string[] };

function validateDocument(standard: string, body: Buffer, size: number, check: boolean): Validation {
  const roots = VALIDATION_ROOTS[standard];
  if (!roots) return { ok: false, messages: ['Valorile acceptate pentru parametrul standard sunt FACT1 si FCN'] };
  if (size > MAX_VALIDATE_BYTES) return { ok: false, messages: ['Marime fisier transmis mai mare de 5 MB.'] };
  const text = body.toString('utf8');
  const parsed = parseXml(text);
  if (!parsed.ok) return { ok: false, messages: [`Fisierul transmis nu este valid. ${parsed.error}`] };
  if (check && !roots.includes(parsed.xml.root))
    return { ok: false, messages: [`Fisierul transmis nu este valid. ${unexpectedRoot(text, parsed.xml)}`] };
  const facts = extractFacts(parsed.xml);
  if (facts.kind !== 'invoice') return check ? { ok: false, messages: ['Fisierul transmis nu este o factura'] } : { ok: true };
  if (check) {
    const verdict = judgeInvoice(facts);
    if (verdict.outcome === 'nok') return { ok: false, messages: verdict.errors };
    if (verdict.outcome === 'xml-errors') {
      return { ok: false, messages: ['E: validari globale  SCHEMA   eroare: documentul nu respecta schema (marcajul SANDBOX:XML_ERRORS)'] };
    }
  }
  return { ok: true, facts, root: parsed.xml.root };
}

function nokJson(res: Response, messages: string[]): void {
  res.status(200).json({ stare: 'nok', Messages: messages.map((message) => ({ message })), trace_id: randomUUID() });
}

function validareHandler(deps: RouterDeps): RequestHandler {
  return async (req, res) => {
    const { body, size } = await readBody(req, MAX_VALIDATE_BYTES);
    deps.state.counters.validations += 1;
    const result = validateDocument(String(req.params.standard), body, size, true);
    if (!result.ok) return nokJson(res, result.messages);
    res.status(200).json({ stare: 'ok', trace_id: randomUUID() });
  };
}

/** ANAF's answers of validaresemnatura, word for word (its Swagger examples). */
export const SIGNATURE_VALID_MSG =
  'Fișierele încărcate au fost validate cu succes, din perspectiva autenticității semnăturii aplicate și a apartenenței acesteia la XML-ul ce reprezintă factura electronică. Documentul factură de tip XML cu semnătura de validare atașată, este considerat document original din perspectiva legislativă și este generat prin intermediul sistemului național RO e-Factura.';
export const SIGNATURE_INVALID_MSG =
  'Fișierele încărcate NU au putut fi validate cu succes, din perspectiva autenticității semnăturii aplicate și a apartenenței acesteia la XML-ul ce reprezintă factura electronică. Documentul factură de tip XML cu semnătura de validare atașată, NU poate fi considerat document original din perspectiva legislativă și NU este generat prin intermediul sistemului național RO e-Factura.';
const SIGNATURE_BAD_REQUEST_MSG =
  'Eroare tehnică: request incorect. Cauza: cel puțin unul din documente NU a fost încărcat sau NU este un fisier de tip XML specific facturii electronice.';

/**
 * `POST /api/validate/signature`, multipart `file` (the invoice XML) and `signature` (the detached
 * signature): 200 `{msg}` valid or not, 400 `{msg}` when a part is missing or not XML. Whether a
 * signature holds is decided by sandboxSignatureHolds (sandbox only: it checks its own signatures).
 */
function signatureValidationHandler(deps: RouterDeps): RequestHandler {
  return async (req, res) => {
    const { body } = await readBody(req, 2 * MAX_VALIDATE_BYTES);
    deps.state.counters.signatureValidations += 1;
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': String(req.headers['content-type'] ?? '') } }).formData();
    } catch {
      return res.status(400).json({ msg: SIGNATURE_BAD_REQUEST_MSG });
    }
    const part = async (name: string) => {
      const value = form.get(name);
      return value && typeof value !== 'string' ? Buffer.from(await value.arrayBuffer()) : undefined;
    };
    const file = await part('file');
    const signature = await part('signature');
    const isXml = (b: Buffer | undefined) => b !== undefined && parseXml(b.toString('utf8')).ok;
    if (!isXml(file) || !isXml(signature)) return res.status(400).json({ msg: SIGNATURE_BAD_REQUEST_MSG });
    const holds = sandboxSignatureHolds(file!, signature!.toString('utf8'));
    res.status(200).json({ msg: holds ? SIGNATURE_VALID_MSG : SIGNATURE_INVALID_MSG });
  };
}

/** `/transformare/{standard}` validates first; `/{novld}=DA` skips validation (ANAF: "xml-ul nu va fi validat"). */
function transformareHandler(deps: RouterDeps, skipValidation: boolean): RequestHandler {
  return async (req, res) => {
    const { body, size } = await readBody(req, MAX_VALIDATE_BYTES);
    deps.state.counters.transformations += 1;
    const result = validateDocument(String(req.params.standard), body, size, !skipValidation);
    if (!result.ok) return nokJson(res, result.messages);
    const f = result.facts;
    const creditNote = result.root === 'CreditNote';
    const pdf = minimalPdf({
      title: `${creditNote ? 'Nota de credit' : 'Factura'} ${f?.number ?? '(fara numar)'}`,
      lines: [
        `Data emiterii: ${f?.issueDate ?? '-'}`,
        `Furnizor CIF: ${f?.supplierCif ?? '-'}`,
        `Cumparator CIF: ${f?.buyerCif ?? '-'}`,
        skipValidation ? 'Document nevalidat (novld=DA)' : 'Document validat',
        'Generat de sandbox-ul ANAF (anaf-flow): nu este reprezentarea oficiala ANAF.',
      ],
    });
    res.status(200).type('application/pdf').send(pdf);
  };
}

// ---------------------------------------------------------------- admin

const receivedBody = z.strictObject({
  buyerCif: z.string().min(1),
  supplierCif: z.string().min(1).optional(),
  xml: z.string().min(1).optional(),
  at: z.number().finite().optional(),
  env: z.enum(['test', 'prod']).optional(),
  messageId: z
    .string()
    .regex(/^[0-9]+$/)
    .optional(),
  number: z.string().min(1).optional(),
  issueDate: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .optional(),
});

const hostileBody = z.strictObject({
  id: z.string().regex(/^[0-9]+$/),
  kind: z.enum(HOSTILE_ARCHIVE_KINDS),
  times: z.number().int().min(1).optional(),
});

function mountAdmin(router: Router, deps: RouterDeps): void {
  router.post('/efactura/received', express.json({ limit: '11mb' }), (req, res) => {
    const parsed = receivedBody.safeParse(req.body);
    if (!parsed.success) {
      res
        .status(400)
        .json({ error: 'invalid_received_invoice', issues: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`) });
      return;
    }
    try {
      res.status(201).json(deps.addReceivedInvoice(parsed.data as ReceivedInvoiceInput));
    } catch (err) {
      res.status(400).json({ error: 'invalid_received_invoice', message: (err as Error).message });
    }
  });
  router.post('/efactura/hostile-archive', express.json(), (req, res) => {
    const parsed = hostileBody.safeParse(req.body);
    if (!parsed.success) {
      res
        .status(400)
        .json({ error: 'invalid_hostile_archive', issues: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`) });
      return;
    }
    try {
      deps.state.serveHostileArchive(parsed.data.id, parsed.data.kind, parsed.data.times);
      res.status(204).end();
    } catch (err) {
      res.status(404).json({ error: 'unknown_download', message: (err as Error).message });
    }
  });
  router.get('/efactura/state', (_req, res) => {
    res.json(deps.state.snapshot());
  });
}

// ---------------------------------------------------------------- received invoices

/** Makes up an invoice another company sent to `buyerCif`: a FACTURA PRIMITA, downloadable at once. */
export function receiveInvoice(state: EfacturaState, now: () => number, input: ReceivedInvoiceInput): ReceivedInvoice {
  const buyerCif = cifDigits(input.buyerCif);
  if (!buyerCif) throw new Error(`buyerCif ${input.buyerCif} is not a CIF`);
  const env = input.env ?? 'test';
  if (input.messageId !== undefined && state.download(input.messageId, env))
    throw new Error(`message id ${input.messageId} is taken on /${env}`);
  const at = input.at ?? now();
  let supplierCif = input.supplierCif !== undefined ? cifDigits(input.supplierCif) : undefined;
  if (input.supplierCif !== undefined && !supplierCif) throw new Error(`supplierCif ${input.supplierCif} is not a CIF`);
  let facts: InvoiceFacts;
  let xml: string;
  if (input.xml !== undefined) {
    const parsed = parseXml(input.xml);
    if (!parsed.ok) throw new Error(`xml is not well-formed: ${parsed.error}`);
    const extracted = extractFacts(parsed.xml);
    if (extracted.kind !== 'invoice') throw new Error('xml is not an invoice (Invoice, CreditNote or CrossIndustryInvoice)');
    facts = extracted;
    xml = input.xml;
    supplierCif ??= facts.supplierCif ?? SANDBOX_SUPPLIER_CIF;
  } else {
    supplierCif ??= SANDBOX_SUPPLIER_CIF;
    const issueDate = input.issueDate ?? romanianDay(at);
    const number = input.number ?? `SBX-${state.uploads.length + 1}`;
    xml = sampleInvoice({ supplierCif, buyerCif, number, issueDate });
    facts = { kind: 'invoice', supplierCif, buyerCif, number, issueDate, notes: [], sellerIdentifierPresent: true };
  }
  const record = state.record({
    env,
    source: 'received',
    standard: 'UBL',
    requestCif: supplierCif,
    facts: { ...facts, supplierCif, buyerCif },
    xml: Buffer.from(xml, 'utf8'),
    verdict: { outcome: 'ok' },
    at,
    ...(input.messageId !== undefined ? { downloadId: input.messageId } : {}),
  });
  state.noteCif(env, buyerCif);
  return {
    env,
    index: record.index,
    id: record.downloadId ?? '',
    buyerCif,
    supplierCif,
    ...(facts.number ? { number: facts.number } : {}),
    ...(facts.issueDate ? { issueDate: facts.issueDate } : {}),
  };
}
