import { randomUUID } from 'node:crypto';
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import { at as childAt, attr, children, childNames, parseUntrustedXml } from '../../schemas/untrusted-xml';
import { anafDateTime, anafMinute, romanianParts } from '../efactura/time';
import {
  ETRANSPORT_ENVS,
  type EtransportEnv,
  type EtransportKind,
  type EtransportState,
  type EtransportUpload,
  type Notification,
  type TransportFacts,
} from './state';

/**
 * The HTTP face of the simulated e-Transport service, as ANAF's Swagger pages show it:
 * `/{test|prod}/ETRANSPORT/ws/v1/upload/ETRANSP/{cif}[/{versiune}]`, `stareMesaj/{id}`,
 * `lista/{zile}/{cif}` and `info?cui_op=…`, all JSON (`ExecutionStatus`, `Errors[]
 * .errorMessage` with a capital E, `dateResponse`, `trace_id`), UITs generated for valid
 * notifications, processing over time. `descarcare` is gone at ANAF and absent here.
 *
 * Markers in the XML make ANAF's asynchronous verdicts happen on demand: `SANDBOX:NOK`
 * anywhere → stare `nok` with a validation error; `SANDBOX:XML_ERRORS` → "XML cu erori
 * nepreluat de sistem".
 */

export const MARKER_NOK = 'SANDBOX:NOK';
export const MARKER_XML_ERRORS = 'SANDBOX:XML_ERRORS';
export const NOK_MESSAGE = 'E-TRANSPORT SANDBOX: declaratia a fost respinsa la validare (SANDBOX:NOK)';
const NAMESPACE_PREFIX = 'mfp:anaf:dgti:eTransport:declaratie:v';
const MAX_UPLOAD_BYTES = 5 * 1024 * 1024;
const DAY_MS = 24 * 3600 * 1000;

export interface CallerRights {
  subject?: string;
  cifs?: readonly string[];
}

export interface EtransportRouterDeps {
  requireBearer: RequestHandler;
  now: () => number;
  state: EtransportState;
  identityOf: (req: Request) => CallerRights | undefined;
}

const isDigits = (v: string) => /^[0-9]+$/.test(v);

function rightsProblem(rights: CallerRights | undefined, cif: string): string | undefined {
  if (!rights?.cifs) return undefined;
  if (rights.cifs.length === 0) return 'Nu exista niciun CIF petru care sa aveti drept in SPV';
  return rights.cifs.some((c) => c.replace(/^RO/i, '') === cif) ? undefined : `Nu aveti drept in SPV pentru CIF=${cif}`;
}

function answer(res: Response, at: number, body: Record<string, unknown>, status = 0): void {
  res.status(200).json({ ...body, dateResponse: anafMinute(at), ExecutionStatus: status, trace_id: randomUUID() });
}

function refuse(res: Response, at: number, messages: string[], extra: Record<string, unknown> = {}): void {
  answer(res, at, { Errors: messages.map((errorMessage) => ({ errorMessage })), ...extra }, 1);
}

function notFound(res: Response, at: number, path: string): void {
  res.status(404).json({ timestamp: new Date(at).toISOString().replace('Z', '+00:00'), status: 404, error: 'Not Found', path });
}

/** "20221010144008": lista's data_creare. */
function anafSeconds(epochMs: number): string {
  const p = romanianParts(epochMs);
  return `${p.year}${p.month}${p.day}${p.hour}${p.minute}${p.second}`;
}

const compactDate = (iso: string | undefined) => (iso ? `${iso.replace(/-/g, '')}000000` : undefined);

function strip<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}

function attrsOf(node: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!node || typeof node !== 'object') return out;
  for (const [k, v] of Object.entries(node as Record<string, unknown>))
    if (k.startsWith('@') && !k.startsWith('@xmlns') && typeof v === 'string') out[k.slice(1)] = v;
  return out;
}

function factsOf(op: unknown): TransportFacts {
  const transport = childAt(op, 'dateTransport');
  const partner = childAt(op, 'partenerComercial');
  const goods = children(op, 'bunuriTransportate');
  const sum = (name: string) => goods.reduce<number>((s, g) => s + (Number(attr(g, name)) || 0), 0);
  const place = (name: string) => attrsOf(childAt(op, name, 'locatie') ?? childAt(op, name));
  return strip({
    operationType: attr(op, 'codTipOperatiune'),
    transportDate: attr(transport, 'dataTransport'),
    partner: strip({ country: attr(partner, 'codTara'), code: attr(partner, 'cod'), name: attr(partner, 'denumire') }),
    carrier: strip({
      country: attr(transport, 'codTaraOrgTransport'),
      code: attr(transport, 'codOrgTransport'),
      name: attr(transport, 'denumireOrgTransport'),
    }),
    vehicle: attr(transport, 'nrVehicul'),
    trailer1: attr(transport, 'nrRemorca1'),
    trailer2: attr(transport, 'nrRemorca2'),
    start: place('locStartTraseuRutier'),
    end: place('locFinalTraseuRutier'),
    documents: children(op, 'documenteTransport').map((d) =>
      [attr(d, 'tipDocument'), attr(d, 'numarDocument'), attr(d, 'dataDocument')].filter(Boolean).join(' '),
    ),
    goodsLines: goods.length,
    netWeight: sum('greutateNeta'),
    grossWeight: sum('greutateBruta'),
    value: sum('valoareLeiFaraTva'),
  }) as TransportFacts;
}

export function buildEtransportRouter(deps: EtransportRouterDeps): Router {
  const { state, now } = deps;
  const router = express.Router();
  const rateLimit: RequestHandler = (_req, res, next) => {
    const slot = state.takeMinuteSlot();
    if (slot.ok) return next();
    res.status(429).set('retry-after', String(slot.retryAfterSeconds)).type('text/plain; charset=utf-8').send('Too Many Requests');
  };
  const rawXml = express.raw({ type: () => true, limit: MAX_UPLOAD_BYTES * 2 });

  for (const env of ETRANSPORT_ENVS) {
    const base = `/${env}/ETRANSPORT/ws/v1`;
    router.use(base, deps.requireBearer, rateLimit);
    router.post([`${base}/upload/:standard/:cif`, `${base}/upload/:standard/:cif/:versiune`], rawXml, uploadHandler(deps, env));
    router.post(`${base}/upload`, (req, res) => notFound(res, now(), `/${env}/ETRANSPORT/ws/v1/upload/`));
    router.get(`${base}/stareMesaj/:id`, stareHandler(deps, env));
    router.get(`${base}/stareMesaj`, (_req, res) => notFound(res, now(), `/${env}/ETRANSPORT/ws/v1/stareMesaj/`));
    router.get(`${base}/lista/:zile/:cif`, listaHandler(deps, env));
    router.get(`${base}/info`, infoHandler(deps, env));
  }
  return router;
}

function uploadHandler(deps: EtransportRouterDeps, env: EtransportEnv): RequestHandler {
  const { state, now } = deps;
  return (req, res) => {
    const at = now();
    const { standard, cif } = req.params as { standard: string; cif: string };
    const versiune = (req.params as { versiune?: string }).versiune ?? '1';
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const reject = (message: string) => {
      state.counters.uploadsRejected += 1;
      refuse(res, at, [message]);
    };
    if (standard !== 'ETRANSP') return reject('Valoarea acceptata pentru parametrul standard este ETRANSP');
    if (!isDigits(cif) || cif.length > 13) return reject(`CIF introdus= ${cif} nu este un numar`);
    if (versiune !== '1' && versiune !== '2') return reject('Valorile acceptate pentru parametrul versiune sunt 1 sau 2');
    if (body.length > MAX_UPLOAD_BYTES) return reject('Marime fisier transmis mai mare de 5 MB');
    const rights = rightsProblem(deps.identityOf(req), cif);
    if (rights) return reject(rights);
    const parsed = parseUntrustedXml(body, 'empty');
    if (!parsed.ok) return reject(`Fisierul transmis nu este valid. org.xml.sax.SAXParseException; ${parsed.message}`);
    if (parsed.root !== 'eTransport' || parsed.namespace !== `${NAMESPACE_PREFIX}${versiune}`) {
      return reject(
        `Fisierul transmis nu este valid. org.xml.sax.SAXParseException; lineNumber: 2; columnNumber: 4; cvc-elt.1.a: Cannot find the declaration of element '${parsed.root}'.`,
      );
    }
    const root = parsed.node;
    const declarantCif = attr(root, 'codDeclarant') ?? '';
    const refDeclarant = attr(root, 'refDeclarant');
    const ops = childNames(root);
    const element = ops[0];
    const op = element ? children(root, element)[0] : undefined;
    const text = body.toString('utf8');
    const correction = element === 'notificare' ? childAt(op, 'corectie') : undefined;
    const kinds: Record<string, EtransportKind> = {
      notificare: correction ? 'COR' : 'NOT',
      stergere: 'DEL',
      confirmare: 'CON',
      modifVehicul: 'MVH',
    };
    const kind = element ? kinds[element] : undefined;
    if (!kind || ops.length !== 1) {
      return reject(
        `Fisierul transmis nu este valid. org.xml.sax.SAXParseException; cvc-complex-type.2.4.a: Invalid content was found starting with element '${element ?? ''}'.`,
      );
    }

    // What ANAF decides after the upload, visible through stareMesaj once processed.
    const errors: string[] = [];
    let outcome: EtransportUpload['outcome'] = 'ok';
    const referenced = kind === 'NOT' ? undefined : attr(kind === 'COR' ? correction : op, 'uit');
    if (text.includes(MARKER_XML_ERRORS)) outcome = 'xml-errors';
    else if (text.includes(MARKER_NOK)) errors.push(NOK_MESSAGE);
    if (outcome === 'ok' && declarantCif !== cif && kind !== 'MVH')
      errors.push(`Codul declarantului ${declarantCif} nu corespunde cu CIF-ul ${cif} din cerere.`);
    if (outcome === 'ok' && kind === 'NOT' && !(attr(op, 'codTipOperatiune') ?? '').match(/^(10|12|14|20|22|24|30|40|50|60|70)$/)) {
      errors.push(`Valoarea ${attr(op, 'codTipOperatiune') ?? ''} pentru codTipOperatiune nu este permisa.`);
    }
    if (outcome === 'ok' && referenced !== undefined) {
      const problem = state.followUpProblem(env, referenced, at);
      if (problem) errors.push(problem);
    } else if (outcome === 'ok' && kind !== 'NOT') errors.push('Nu a fost identificat UIT-ul printre notificarile valide anterioare.');
    if (errors.length) outcome = 'nok';

    const index = state.nextIndex();
    const readyAt = at + state.options.processingDelayMs;
    const uit = kind === 'NOT' ? state.nextUit() : referenced;
    const upload = state.record({
      index,
      env,
      cif,
      kind,
      declarantCif,
      ...(refDeclarant ? { refDeclarant } : {}),
      ...(uit ? { uit } : {}),
      ...(kind === 'NOT' || kind === 'COR' ? { facts: factsOf(op) } : {}),
      ...(kind === 'CON' ? { confirmationType: attr(op, 'tipConfirmare') ?? '' } : {}),
      ...(attr(op, 'observatii') ? { remarks: attr(op, 'observatii') } : {}),
      ...(kind === 'MVH'
        ? {
            vehicleChange: strip({
              vehicle: attr(op, 'nrVehicul'),
              trailer1: attr(op, 'nrRemorca1'),
              trailer2: attr(op, 'nrRemorca2'),
              date: attr(op, 'dataModificare'),
            }),
          }
        : {}),
      xml: body,
      uploadedAt: at,
      readyAt,
      outcome,
      errors,
      traceId: randomUUID(),
    });
    if (outcome === 'ok') apply(state, env, upload);
    answer(res, at, {
      index_incarcare: Number(index),
      ...(uit ? { UIT: uit } : {}),
      ref_declarant: refDeclarant ?? '',
      ...(versiune === '2'
        ? {
            atentie: 'Verificati starea XML-ului transmis. Codul UIT este valabil din momentul in care apare ca valid dupa apelul de stare',
          }
        : {}),
    });
  };
}

/** A valid upload's effect on its notification (it counts from readyAt, when ANAF has processed it). */
function apply(state: EtransportState, env: EtransportEnv, u: EtransportUpload): void {
  if (u.kind === 'NOT') {
    state.addNotification({
      uit: u.uit!,
      env,
      declarantCif: u.declarantCif,
      ...(u.refDeclarant ? { refDeclarant: u.refDeclarant } : {}),
      uploadIndex: u.index,
      createdAt: u.readyAt,
      facts: u.facts!,
      corrections: [],
      vehicleChanges: [],
    });
    return;
  }
  const n = state.notification(u.uit!)!;
  if (u.kind === 'COR') {
    n.facts = u.facts!;
    n.corrections.push(u.index);
  } else if (u.kind === 'DEL') n.deletedAt = u.readyAt;
  else if (u.kind === 'CON')
    n.confirmation = { type: u.confirmationType ?? '', ...(u.remarks ? { remarks: u.remarks } : {}), uploadIndex: u.index, at: u.readyAt };
  else
    n.vehicleChanges.push({
      ...u.vehicleChange,
      ...(u.remarks ? { remarks: u.remarks } : {}),
      declarantCif: u.declarantCif,
      uploadIndex: u.index,
      at: u.readyAt,
    });
}

function stareHandler(deps: EtransportRouterDeps, env: EtransportEnv): RequestHandler {
  const { state, now } = deps;
  return (req, res) => {
    const at = now();
    const id = String(req.params.id);
    if (!isDigits(id)) return refuse(res, at, [`Id_incarcare introdus= ${id} nu este un numar intreg`]);
    const rights = deps.identityOf(req);
    if (rights?.cifs && rights.cifs.length === 0) return refuse(res, at, ['Nu exista niciun CIF petru care sa aveti drept']);
    const upload = state.upload(id);
    if (!upload || upload.env !== env) return refuse(res, at, [`Nu exista declaratia de transport cu id_incarcare= ${id}`]);
    if (rightsProblem(rights, upload.cif)) return refuse(res, at, [`Nu aveti dreptul de inteorgare pentru id_incarcare= ${id}`]);
    if (!state.takeDaily('stare', `${env}|${id}`, state.options.dailyStareLimit)) {
      return refuse(res, at, [
        `S-au facut deja ${state.options.dailyStareLimit} de verificari, pentru id-incarcare solicitat, in cursul zilei`,
      ]);
    }
    state.counters.stareQueries += 1;
    if (at < upload.readyAt) return answer(res, at, { stare: 'in prelucrare' });
    if (upload.outcome === 'xml-errors') return answer(res, at, { stare: 'XML cu erori nepreluat de sistem' });
    if (upload.outcome === 'nok') return refuse(res, at, upload.errors, { stare: 'nok' });
    answer(res, at, { stare: 'ok' });
  };
}

function notificationEntry(n: Notification, at: number) {
  const f = n.facts;
  const confirmation = n.confirmation && n.confirmation.at <= at ? n.confirmation : undefined;
  const changes = n.vehicleChanges.filter((c) => c.at <= at);
  return strip({
    tip: 'NOT',
    stare: 'OK',
    uit: n.uit,
    cod_decl: n.declarantCif,
    ref_decl: n.refDeclarant,
    post_avarie: 'N',
    sursa: 'A',
    id_incarcare: n.uploadIndex,
    data_creare: anafSeconds(n.createdAt),
    ...(n.corrections.length ? { data_modif: anafSeconds(at) } : {}),
    tip_op: f.operationType,
    data_transp: compactDate(f.transportDate),
    pc_tara: f.partner?.country,
    pc_cod: f.partner?.code,
    pc_den: f.partner?.name,
    tr_tara: f.carrier?.country,
    tr_cod: f.carrier?.code,
    tr_den: f.carrier?.name,
    nr_veh: f.vehicle,
    nr_rem1: f.trailer1,
    nr_rem2: f.trailer2,
    modif_veh: changes.length
      ? changes.map((c) =>
          strip({
            data_modif_veh: compactDate(c.date),
            nr_veh: c.vehicle,
            nr_rem1: c.trailer1,
            nr_rem2: c.trailer2,
            obs: c.remarks,
            cod_decl: c.declarantCif,
            post_avarie: 'N',
            sursa: 'A',
            data_decl: anafSeconds(c.at),
            id_incarcare: c.uploadIndex,
          }),
        )
      : undefined,
    nr_linii: f.goodsLines,
    gr_tot_neta: f.netWeight,
    gr_tot_bruta: f.grossWeight,
    val_tot: f.value,
    confirmare: confirmation
      ? strip({
          tip_conf: confirmation.type,
          obs: confirmation.remarks,
          post_avarie: 'N',
          sursa: 'A',
          data_decl: anafSeconds(confirmation.at),
          id_incarcare: confirmation.uploadIndex,
        })
      : undefined,
  });
}

function listaHandler(deps: EtransportRouterDeps, env: EtransportEnv): RequestHandler {
  const { state, now } = deps;
  return (req, res) => {
    const at = now();
    const { zile, cif } = req.params as { zile: string; cif: string };
    if (!/^-?[0-9]+$/.test(zile)) return refuse(res, at, [`Numarul de zile introdus= ${zile} nu este un numar intreg`]);
    const days = Number(zile);
    if (days < 1 || days > 60) return refuse(res, at, ['Numarul de zile trebuie sa fie intre 1 si 60']);
    if (!isDigits(cif)) return refuse(res, at, [`CIF introdus= ${cif} nu este un numar`]);
    const identity = deps.identityOf(req);
    const rights = rightsProblem(identity, cif);
    if (rights) return refuse(res, at, [rights]);
    if (!state.takeDaily('lista', identity?.subject ?? 'anyone', state.options.dailyListLimit)) {
      return refuse(res, at, [
        `S-au facut deja ${state.options.dailyListLimit} interogari de lista mesaje de catre utilizator in cursul zilei`,
      ]);
    }
    state.counters.lists += 1;
    const since = at - days * DAY_MS;
    const visible = (u: EtransportUpload) => u.env === env && u.readyAt + state.options.listingDelayMs <= at && u.uploadedAt >= since;
    const mesaje: Array<Record<string, unknown>> = [];
    for (const u of state.uploads()) {
      if (!visible(u) || (u.cif !== cif && u.declarantCif !== cif)) continue;
      if (u.outcome !== 'ok') {
        mesaje.push(
          strip({
            tip: u.kind,
            stare: 'ERR',
            uit: u.uit && u.kind !== 'NOT' ? u.uit : undefined,
            cod_decl: u.declarantCif || u.cif,
            ref_decl: u.refDeclarant,
            sursa: 'A',
            id_incarcare: u.index,
            data_creare: anafSeconds(u.readyAt),
            mesaje: (u.errors.length ? u.errors : ['XML cu erori nepreluat de sistem']).map((mesaj) => ({ tip: 'ERR', mesaj })),
          }),
        );
        continue;
      }
      if (u.kind === 'NOT') {
        const n = state.notification(u.uit!);
        if (!n || (n.deletedAt !== undefined && n.deletedAt <= at)) continue;
        mesaje.push(notificationEntry(n, at));
      } else if (u.kind === 'MVH') {
        const n = state.notification(u.uit!);
        mesaje.push(
          strip({
            tip: 'MVH',
            stare: 'OK',
            uit: u.uit,
            cod_decl: u.declarantCif,
            ref_decl: u.refDeclarant,
            sursa: 'A',
            id_incarcare: u.index,
            data_creare: anafSeconds(u.readyAt),
            tip_op: n?.facts.operationType,
            data_transp: compactDate(n?.facts.transportDate),
            data_modif_veh: compactDate(u.vehicleChange?.date),
            nr_veh: u.vehicleChange?.vehicle,
            nr_rem1: u.vehicleChange?.trailer1,
            nr_rem2: u.vehicleChange?.trailer2,
          }),
        );
      }
    }
    if (mesaje.length === 0) return refuse(res, at, [`Nu exista mesaje in ultimele ${days} zile`]);
    answer(res, at, {
      mesaje,
      serial: identity?.subject ?? 'ANAFSANDBOX',
      cui: cif,
      titlu: `Lista Mesaje disponibile din ultimele ${days} zile`,
    });
  };
}

function infoHandler(deps: EtransportRouterDeps, env: EtransportEnv): RequestHandler {
  const { state, now } = deps;
  return (req, res) => {
    const at = now();
    const q = (name: string) => {
      const v = (req.query as Record<string, unknown>)[name];
      return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
    };
    const cuiOp = q('cui_op');
    const cuiDecl = q('cui_decl');
    const plain = (error: string) => res.status(200).json({ trace_id: randomUUID(), dateResponse: anafMinute(at), error });
    if (!cuiOp)
      return res
        .status(400)
        .json({ timestamp: anafDateTime(at), status: 400, error: 'Bad Request', message: 'Parametrul cui_op este obligatoriu' });
    if (!isDigits(cuiOp)) return plain(`cui_op introdus= ${cuiOp} nu este un numar`);
    if (cuiDecl !== undefined && !isDigits(cuiDecl)) return plain(`cui_decl introdus= ${cuiDecl} nu este un numar`);
    const rights = rightsProblem(deps.identityOf(req), cuiOp);
    if (rights) return plain(rights);
    state.counters.infos += 1;
    const found = state
      .allNotifications()
      .filter(
        (n) =>
          n.env === env &&
          n.createdAt <= at &&
          (n.deletedAt === undefined || n.deletedAt > at) &&
          at < state.expiresAt(n) &&
          n.facts.carrier?.code === cuiOp &&
          (cuiDecl === undefined || n.declarantCif === cuiDecl) &&
          (q('uit') === undefined || n.uit === q('uit')) &&
          (q('ref_decl') === undefined || n.refDeclarant === q('ref_decl')),
      );
    if (found.length === 0) return plain('Nu exista informatii pentru aceasta solicitare');
    const iso = (epoch: number) => {
      const p = romanianParts(epoch);
      return `${p.year}-${p.month}-${p.day}T${p.hour}:${p.minute}:${p.second}`;
    };
    res.status(200).json(
      found.map((n, i) =>
        strip({
          id: i + 1,
          uit: n.uit,
          cod_decl: Number(n.declarantCif),
          den_decl: `Declarant ${n.declarantCif}`,
          data_transp: n.facts.transportDate ? `${n.facts.transportDate}T00:00:00` : undefined,
          data_exp_uit: iso(state.expiresAt(n)),
          ref_decl: n.refDeclarant,
          tr_cod: n.facts.carrier?.code,
          tr_den: n.facts.carrier?.name,
          nr_veh: n.facts.vehicle,
          nr_rem1: n.facts.trailer1,
          nr_rem2: n.facts.trailer2,
          modif_veh: n.vehicleChanges.length
            ? n.vehicleChanges.map((c) =>
                strip({
                  data_modif_veh: c.date,
                  nr_veh: c.vehicle,
                  nr_rem1: c.trailer1,
                  nr_rem2: c.trailer2,
                  obs: c.remarks,
                  cod_decl: c.declarantCif,
                  data_decl: iso(c.at),
                }),
              )
            : undefined,
          loc_start: n.facts.start,
          loc_final: n.facts.end,
          documente: n.facts.documents.join('; '),
        }),
      ),
    );
  };
}
