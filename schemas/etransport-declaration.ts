import { isValidCifOrCnp } from './cif';
import { type OperationKind } from './etransport-uit';

export {
  confirmationExpected,
  FOLLOW_UP_KINDS,
  type OperationKind,
  uitExpiresAt,
  uitValidityDays,
  UIT_VALIDITY_DAYS,
} from './etransport-uit';
import { attr, at, childNames, children, parseUntrustedXml } from './untrusted-xml';

/**
 * What we check of an e-Transport declaration (schema v2) before it is stored or sent,
 * and what we read out of it. The root is `eTransport` in namespace
 * `mfp:anaf:dgti:eTransport:declaratie:v2`, with the declarant's fiscal code in
 * `codDeclarant` (and the ERP's own reference in `refDeclarant`); it holds exactly one
 * operation:
 *
 * - `notificare codTipOperatiune="…"`: a new transport (ANAF answers with a UIT); with a
 *   `corectie uit="…"` child it corrects the notification of that UIT;
 * - `stergere uit="…"`: deletes it;
 * - `confirmare uit="…" tipConfirmare="10|20|30"`: the recipient confirms (partially) or
 *   denies the goods arrived;
 * - `modifVehicul uit="…" nrVehicul="…" dataModificare="…"`: the truck changed on the way.
 *
 * ANAF's lista names them NOT, COR, DEL, CON and MVH. Nothing here throws for bad input.
 */

export const ETRANSPORT_NAMESPACE = 'mfp:anaf:dgti:eTransport:declaratie:v2';
export const ETRANSPORT_ROOT = 'eTransport';
/** ANAF's upload limit for e-Transport ("Marime fisier transmis mai mare de 5 MB"). */
export const MAX_DECLARATION_BYTES = 5 * 1024 * 1024;

/** ANAF's `tip` in lista for each operation. */
export const LISTA_TYPE: Record<OperationKind, 'NOT' | 'COR' | 'DEL' | 'CON' | 'MVH'> = {
  NOTIFICATION: 'NOT',
  CORRECTION: 'COR',
  DELETION: 'DEL',
  CONFIRMATION: 'CON',
  VEHICLE_CHANGE: 'MVH',
};

/** `codTipOperatiune` (lista's `tip_op`): the kinds of transport ANAF knows. */
export const OPERATION_TYPES: Record<string, string> = {
  '10': 'AIC: intra-community acquisition',
  '12': 'LHI: leasing/hire, intra-community entry',
  '14': 'SCI: stock under call-off, intra-community entry',
  '20': 'LIC: intra-community delivery',
  '22': 'LHE: leasing/hire, intra-community exit',
  '24': 'SCE: stock under call-off, intra-community exit',
  '30': 'TTN: transport on national territory',
  '40': 'IMP: import',
  '50': 'EXP: export',
  '60': 'DIN: direct intra-community, entry',
  '70': 'DIE: direct intra-community, exit',
};

/** `tipConfirmare`: confirmed, partially confirmed, denied. */
export const CONFIRMATION_TYPES = { '10': 'CONFIRMED', '20': 'PARTIALLY_CONFIRMED', '30': 'DENIED' } as const;

export type DeclarationProblemCode =
  | 'XML_EMPTY'
  | 'XML_DOCTYPE_FORBIDDEN'
  | 'XML_NOT_WELL_FORMED'
  | 'XML_TOO_COMPLEX'
  | 'XML_WRONG_ROOT'
  | 'DECLARATION_TOO_LARGE'
  | 'UNKNOWN_OPERATION'
  | 'DECLARANT_CIF_INVALID'
  | 'UIT_MISSING'
  | 'TRANSPORT_DATE_INVALID'
  | 'CONFIRMATION_TYPE_INVALID';

/** What reconciliation compares with ANAF's lista when an upload's answer was lost. */
export interface DeclarationIdentity {
  declarantCif: string;
  refDeclarant?: string;
  /** codTipOperatiune */
  operationType?: string;
  /** yyyy-mm-dd */
  transportDate?: string;
  vehicle?: string;
  partnerCode?: string;
  carrierCode?: string;
}

export interface DeclarationFacts {
  kind: OperationKind;
  /** The UIT a follow-up operation is about. */
  uit?: string;
  identity: DeclarationIdentity;
  /** CONFIRMATION: 10, 20 or 30. */
  confirmationType?: string;
  /** VEHICLE_CHANGE: yyyy-mm-dd. */
  vehicleChangeDate?: string;
}

export type DeclarationInspection = ({ ok: true } & DeclarationFacts) | { ok: false; code: DeclarationProblemCode; message: string };

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const OPERATION_ELEMENTS = ['notificare', 'stergere', 'confirmare', 'modifVehicul'] as const;

const fail = (code: DeclarationProblemCode, message: string): DeclarationInspection => ({ ok: false, code, message });

function validDate(value: string | undefined): boolean {
  const m = value ? ISO_DATE.exec(value) : null;
  if (!m) return false;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]);
}

function compact<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** Parses and checks an e-Transport v2 document. */
export function inspectDeclarationXml(xml: Buffer): DeclarationInspection {
  if (xml.length > MAX_DECLARATION_BYTES) {
    return fail('DECLARATION_TOO_LARGE', `The declaration exceeds ANAF's limit of ${MAX_DECLARATION_BYTES / (1024 * 1024)} MB`);
  }
  const parsed = parseUntrustedXml(xml, 'The request carries no declaration');
  if (!parsed.ok) return parsed;
  if (parsed.root !== ETRANSPORT_ROOT || parsed.namespace !== ETRANSPORT_NAMESPACE) {
    return fail(
      'XML_WRONG_ROOT',
      `An e-Transport declaration needs the root element ${ETRANSPORT_ROOT} in namespace ${ETRANSPORT_NAMESPACE}; this document has ${parsed.root}${parsed.namespace ? ` in ${parsed.namespace}` : ' without a namespace'}`,
    );
  }
  const root = parsed.node;
  const declarantCif = attr(root, 'codDeclarant');
  // An individual declares with a CNP: ANAF's e-Transport takes "cif … maxim 13 cifre".
  if (!declarantCif || !isValidCifOrCnp(declarantCif)) {
    return fail(
      'DECLARANT_CIF_INVALID',
      `codDeclarant ${JSON.stringify(declarantCif ?? null)} is not a valid Romanian fiscal code or CNP (check digit)`,
    );
  }
  const refDeclarant = attr(root, 'refDeclarant');
  const names = childNames(root);
  const operations = names.filter((n) => (OPERATION_ELEMENTS as readonly string[]).includes(n));
  const unknown = names.filter((n) => !(OPERATION_ELEMENTS as readonly string[]).includes(n));
  if (operations.length !== 1 || children(root, operations[0]!).length !== 1 || unknown.length > 0) {
    return fail(
      'UNKNOWN_OPERATION',
      `The declaration must hold exactly one operation (${OPERATION_ELEMENTS.join(', ')}); found ${names.length ? names.join(', ') : 'none'}`,
    );
  }
  const element = operations[0] as (typeof OPERATION_ELEMENTS)[number];
  const op = children(root, element)[0];
  const base = { declarantCif, ...(refDeclarant ? { refDeclarant } : {}) };

  if (element === 'notificare') {
    const operationType = attr(op, 'codTipOperatiune');
    if (!operationType || !(operationType in OPERATION_TYPES)) {
      return fail(
        'UNKNOWN_OPERATION',
        `codTipOperatiune ${JSON.stringify(operationType ?? null)} is not one of ${Object.keys(OPERATION_TYPES).join(', ')}`,
      );
    }
    const transport = at(op, 'dateTransport');
    const transportDate = attr(transport, 'dataTransport');
    if (!validDate(transportDate)) {
      return fail(
        'TRANSPORT_DATE_INVALID',
        `dateTransport/@dataTransport ${JSON.stringify(transportDate ?? null)} is not a date (yyyy-mm-dd)`,
      );
    }
    const identity: DeclarationIdentity = compact({
      ...base,
      operationType,
      transportDate,
      vehicle: attr(transport, 'nrVehicul'),
      partnerCode: attr(at(op, 'partenerComercial'), 'cod'),
      carrierCode: attr(transport, 'codOrgTransport'),
    });
    const correction = at(op, 'corectie');
    if (correction !== undefined) {
      const uit = attr(correction, 'uit');
      if (!uit) return fail('UIT_MISSING', 'notificare/corectie needs the uit of the notification it corrects');
      return { ok: true, kind: 'CORRECTION', uit, identity };
    }
    return { ok: true, kind: 'NOTIFICATION', identity };
  }

  const uit = attr(op, 'uit');
  if (!uit) return fail('UIT_MISSING', `${element} needs the uit of the notification it is about`);
  if (element === 'stergere') return { ok: true, kind: 'DELETION', uit, identity: base };
  if (element === 'confirmare') {
    const confirmationType = attr(op, 'tipConfirmare');
    if (!confirmationType || !(confirmationType in CONFIRMATION_TYPES)) {
      return fail('CONFIRMATION_TYPE_INVALID', `confirmare/@tipConfirmare ${JSON.stringify(confirmationType ?? null)} is not 10, 20 or 30`);
    }
    return { ok: true, kind: 'CONFIRMATION', uit, confirmationType, identity: base };
  }
  const vehicleChangeDate = attr(op, 'dataModificare');
  if (!validDate(vehicleChangeDate)) {
    return fail(
      'TRANSPORT_DATE_INVALID',
      `modifVehicul/@dataModificare ${JSON.stringify(vehicleChangeDate ?? null)} is not a date (yyyy-mm-dd)`,
    );
  }
  return {
    ok: true,
    kind: 'VEHICLE_CHANGE',
    uit,
    vehicleChangeDate: vehicleChangeDate!,
    identity: compact({ ...base, vehicle: attr(op, 'nrVehicul') }),
  };
}

/** One entry of ANAF's lista, as our client reads it. */
export interface ListedDeclaration {
  uploadIndex?: string;
  uit?: string;
  /** NOT, COR, DEL, CON, MVH */
  type?: string;
  /** OK or ERR */
  state?: string;
  declarantCif?: string;
  refDeclarant?: string;
  operationType?: string;
  /** yyyy-mm-dd */
  transportDate?: string;
  vehicle?: string;
  partnerCode?: string;
  carrierCode?: string;
  /** epoch ms (ANAF's data_creare, Romanian time) */
  createdAt?: number;
  confirmation?: { type?: string; uploadIndex?: string; declaredAt?: string };
  vehicleChanges?: Array<{ vehicle?: string; uploadIndex?: string; date?: string }>;
  messages: Array<{ type: string; text: string }>;
}

export interface ListingMatchInput {
  kind: OperationKind;
  identity: DeclarationIdentity;
  uit?: string;
  /** Upload indexes we already hold (other operations of this declaration): never adopted again. */
  knownIndexes: string[];
  /** epoch ms: entries created before this cannot be the lost upload. */
  notBefore: number;
}

const same = (a: string | undefined, b: string | undefined) => a === undefined || b === undefined || a === b;

/**
 * Which listed upload is the one whose answer we lost? Only exact identities are
 * adopted: a looser match could adopt someone else's UIT. Corrections and deletions that
 * ANAF accepted are not listed at all (ANAF lists final states only), so for them only an
 * erroneous upload can be found; sending them again cannot create a second transport.
 */
export function matchListedDeclaration(entries: ListedDeclaration[], ours: ListingMatchInput): ListedDeclaration | undefined {
  const type = LISTA_TYPE[ours.kind];
  const fresh = (e: ListedDeclaration, index: string | undefined) =>
    index !== undefined && !ours.knownIndexes.includes(index) && (e.createdAt === undefined || e.createdAt >= ours.notBefore);
  for (const e of entries) {
    if (e.declarantCif !== undefined && e.declarantCif !== ours.identity.declarantCif && ours.kind !== 'VEHICLE_CHANGE') continue;
    if (ours.kind === 'NOTIFICATION' && e.state === 'OK' && e.type === 'NOT' && fresh(e, e.uploadIndex)) {
      const id = ours.identity;
      if (id.refDeclarant === undefined && e.refDeclarant !== undefined) continue;
      if (
        e.refDeclarant === id.refDeclarant &&
        e.operationType === id.operationType &&
        e.transportDate === id.transportDate &&
        same(e.vehicle, id.vehicle) &&
        same(e.partnerCode, id.partnerCode) &&
        same(e.carrierCode, id.carrierCode)
      ) {
        return e;
      }
    }
    if (
      ours.kind === 'VEHICLE_CHANGE' &&
      e.state === 'OK' &&
      e.type === 'MVH' &&
      e.uit === ours.uit &&
      e.vehicle === ours.identity.vehicle &&
      fresh(e, e.uploadIndex)
    ) {
      return e;
    }
    if (
      ours.kind === 'CONFIRMATION' &&
      e.state === 'OK' &&
      e.uit === ours.uit &&
      e.confirmation?.uploadIndex &&
      fresh(e, e.confirmation.uploadIndex)
    ) {
      return { ...e, uploadIndex: e.confirmation.uploadIndex };
    }
    // An upload ANAF took but found wrong: listed with its messages, whatever its kind.
    if (e.state === 'ERR' && e.type === type && (ours.uit === undefined || e.uit === ours.uit) && fresh(e, e.uploadIndex)) {
      if (ours.kind === 'NOTIFICATION' && e.refDeclarant !== ours.identity.refDeclarant) continue;
      return e;
    }
  }
  return undefined;
}

/** The XML of a follow-up that needs nothing but the UIT and a few values (API JSON, operator signal). */
export function followUpXml(
  declarantCif: string,
  op:
    | { type: 'DELETION'; uit: string }
    | { type: 'CONFIRMATION'; uit: string; confirmationType: '10' | '20' | '30'; remarks?: string }
    | { type: 'VEHICLE_CHANGE'; uit: string; vehicle: string; trailer1?: string; trailer2?: string; date: string; remarks?: string },
  refDeclarant?: string,
): string {
  const esc = (v: string) => v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const attrs = (pairs: Array<[string, string | undefined]>) =>
    pairs
      .filter((p): p is [string, string] => p[1] !== undefined && p[1] !== '')
      .map(([k, v]) => ` ${k}="${esc(v)}"`)
      .join('');
  const body =
    op.type === 'DELETION'
      ? `<stergere${attrs([['uit', op.uit]])}/>`
      : op.type === 'CONFIRMATION'
        ? `<confirmare${attrs([
            ['uit', op.uit],
            ['tipConfirmare', op.confirmationType],
            ['observatii', op.remarks],
          ])}/>`
        : `<modifVehicul${attrs([
            ['uit', op.uit],
            ['nrVehicul', op.vehicle],
            ['nrRemorca1', op.trailer1],
            ['nrRemorca2', op.trailer2],
            ['dataModificare', op.date],
            ['observatii', op.remarks],
          ])}/>`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<eTransport xmlns="${ETRANSPORT_NAMESPACE}"${attrs([
      ['codDeclarant', declarantCif],
      ['refDeclarant', refDeclarant],
    ])}>`,
    `  ${body}`,
    '</eTransport>',
    '',
  ].join('\n');
}
