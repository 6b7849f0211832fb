import { XMLValidator } from 'fast-xml-parser';
import { hardenedXmlParser } from '../lib/anaf/xml-parser';

/**
 * Reading XML that comes from outside (invoices, transport declarations) before anything
 * is stored or sent: no DOCTYPE (XXE, entity expansion), well-formed, entities never
 * expanded, and the root element with its namespace. The document checks that follow
 * (e-Factura's standards, e-Transport's operations) work on the parsed tree with the
 * helpers below, whatever namespace prefix the sender chose.
 */

export type XmlNode = Record<string, unknown>;

export type UntrustedXmlProblemCode = 'XML_EMPTY' | 'XML_DOCTYPE_FORBIDDEN' | 'XML_NOT_WELL_FORMED' | 'XML_TOO_COMPLEX';

/**
 * Structure no invoice or declaration needs, refused before a tree is built: a real 10 MB
 * UBL invoice holds about 300,000 elements and nests about 10 deep. Counted, not timed, so
 * the answer does not depend on how busy the machine is (the parse thread's time and memory
 * caps, api/xml-parse-pool.ts, stop whatever these do not catch).
 */
export const MAX_XML_ELEMENTS = 1_000_000;
export const MAX_XML_DEPTH = 100;

/** Start tags: '<' then a name character (not '/', '?', '!'). Linear, allocation-free. */
function countStartTags(text: string, stopAfter: number): number {
  let count = 0;
  for (let i = text.indexOf('<'); i >= 0 && count <= stopAfter; i = text.indexOf('<', i + 1)) {
    const next = text.charCodeAt(i + 1);
    if (next !== 47 /* / */ && next !== 63 /* ? */ && next !== 33 /* ! */) count++;
  }
  return count;
}

export type ParsedXml =
  { ok: true; root: string; namespace: string; node: XmlNode } | { ok: false; code: UntrustedXmlProblemCode; message: string };

const parser = hardenedXmlParser({ removeNSPrefix: false, maxDepth: MAX_XML_DEPTH });

export const localName = (qname: string) => qname.slice(qname.indexOf(':') + 1);
const prefixOf = (qname: string) => (qname.includes(':') ? qname.slice(0, qname.indexOf(':')) : '');

/** Children by local name, whatever prefix the sender chose. */
export function children(node: unknown, name: string): unknown[] {
  if (!node || typeof node !== 'object') return [];
  const out: unknown[] = [];
  for (const [key, value] of Object.entries(node as XmlNode)) {
    if (key.startsWith('@') || localName(key) !== name) continue;
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
  }
  return out;
}

/** Local names of the element children of `node`, in document order. */
export function childNames(node: unknown): string[] {
  if (!node || typeof node !== 'object') return [];
  return Object.keys(node as XmlNode)
    .filter((k) => !k.startsWith('@') && !k.startsWith('#'))
    .map(localName);
}

export function at(node: unknown, ...path: string[]): unknown {
  let cur = node;
  for (const name of path) {
    cur = children(cur, name)[0];
    if (cur === undefined) return undefined;
  }
  return cur;
}

export function textOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node.trim() || undefined;
  if (node && typeof node === 'object' && '#text' in node) return textOf((node as XmlNode)['#text']);
  return undefined;
}

/** An attribute's value (unprefixed attribute names, as the ANAF schemas use them). */
export function attr(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[`@${name}`];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** Parses `xml` (size already checked by the caller); never throws for bad input. */
export function parseUntrustedXml(xml: Buffer, emptyMessage: string): ParsedXml {
  if (xml.length === 0) return { ok: false, code: 'XML_EMPTY', message: emptyMessage };
  const text = xml.toString('utf8').replace(/^\uFEFF/, '');
  const doctype = /<!DOCTYPE/i.exec(text);
  if (doctype) {
    return {
      ok: false,
      code: 'XML_DOCTYPE_FORBIDDEN',
      message: `DOCTYPE declarations are not accepted (line ${lineOf(text, doctype.index)}): ANAF refuses them, and they carry entity expansion and XXE risks`,
    };
  }
  if (countStartTags(text, MAX_XML_ELEMENTS) > MAX_XML_ELEMENTS) {
    return { ok: false, code: 'XML_TOO_COMPLEX', message: `The document has more than ${MAX_XML_ELEMENTS.toLocaleString('en')} elements` };
  }
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) {
    return {
      ok: false,
      code: 'XML_NOT_WELL_FORMED',
      message: `Not well-formed XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`,
    };
  }
  let tree: XmlNode;
  try {
    tree = parser.parse(text) as XmlNode;
  } catch (err) {
    if (/Maximum nested tags exceeded/.test((err as Error).message)) {
      return { ok: false, code: 'XML_TOO_COMPLEX', message: `The document nests elements more than ${MAX_XML_DEPTH} deep` };
    }
    return { ok: false, code: 'XML_NOT_WELL_FORMED', message: `Not well-formed XML: ${(err as Error).message}` };
  }
  const rootEntry = Object.entries(tree).find(([k]) => !k.startsWith('?') && !k.startsWith('#'));
  if (!rootEntry) return { ok: false, code: 'XML_NOT_WELL_FORMED', message: 'The document has no root element' };
  const [qname, rootNode] = rootEntry;
  const prefix = prefixOf(qname);
  const node = rootNode && typeof rootNode === 'object' ? (rootNode as XmlNode) : {};
  const namespace = String(node[prefix ? `@xmlns:${prefix}` : '@xmlns'] ?? '');
  return { ok: true, root: localName(qname), namespace, node };
}
