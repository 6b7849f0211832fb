import { unexpectedAnswer } from './failures';

/**
 * ANAF's identifiers, checked once where ANAF's answer is parsed, against what ANAF documents:
 * the upload index (index_incarcare / id_incarcare / id_solicitare: "numeric", N(15) at BANCIWS,
 * and large enough in e-Factura that it must stay a string: past 2^53 a number loses digits),
 * the download id (id_descarcare / id: numeric), e-Transport's UIT (letters and digits; ANAF's
 * own examples are "A0001"). Past this point every step takes them as opaque strings.
 */
const SHAPES = {
  'upload index': /^\d{1,30}$/,
  'download id': /^\d{1,30}$/,
  UIT: /^[A-Za-z0-9]{1,40}$/,
} as const;

export type AnafIdentifier = keyof typeof SHAPES;

export function isAnafIdentifier(kind: AnafIdentifier, value: string): boolean {
  return SHAPES[kind].test(value);
}

/** `value` when it has the documented shape; otherwise an AnafUnexpectedAnswer carrying ANAF's text. */
export function checkedAnafIdentifier(kind: AnafIdentifier, value: string, operation: string, anafText: string): string {
  if (isAnafIdentifier(kind, value)) return value;
  throw unexpectedAnswer(operation, `${kind} ${JSON.stringify(value.slice(0, 80))} is not what ANAF documents`, anafText);
}
