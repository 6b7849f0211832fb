import { hardenedXmlParser } from '../../lib/anaf/xml-parser';
import { ApplicationFailure } from '@temporalio/common';
import yauzl from 'yauzl';
import type { AnswerArchive } from './types';

/**
 * Reading `descarcare`'s ZIP: `<index>.xml` (the invoice, or for `nok` ANAF's error file
 * in namespace `mfp:anaf:dgti:efactura:mesajEroriFactuta:v1` — ANAF's own spelling) and
 * `semnatura_<index>.xml`. The archive comes from the network, so it is treated as
 * hostile: entry count, declared and actual sizes and the compression ratio are bounded
 * (yauzl checks that no entry inflates past its declared size), and anything else is a
 * typed error instead of a crash or an out-of-memory worker.
 */

export type ArchiveProblem = 'ZIP_MALFORMED' | 'ZIP_BOMB' | 'ZIP_UNEXPECTED_CONTENT';

export class AnswerArchiveError extends Error {
  constructor(
    readonly code: ArchiveProblem,
    message: string,
  ) {
    super(message);
    this.name = 'AnswerArchiveError';
  }
}

export const ARCHIVE_LIMITS = {
  entries: 10,
  /** An invoice is ≤ 10 MB; its signed copy and signature add little. */
  entryBytes: 16 * 1024 * 1024,
  totalBytes: 32 * 1024 * 1024,
  /** XML compresses well, but not a thousandfold. */
  ratio: 200,
};

/** Failure types of a refused archive: a malformed one may be downloaded again, a bomb never. */
export const ARCHIVE_MALFORMED = 'EfacturaArchiveMalformed';
export const ARCHIVE_REFUSED = 'EfacturaArchiveRefused';

export const NS_ERRORS = 'mfp:anaf:dgti:efactura:mesajEroriFactuta:v1';

const parser = hardenedXmlParser();

function openZip(bytes: Buffer): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (err, zip) => {
      if (err || !zip) reject(new AnswerArchiveError('ZIP_MALFORMED', `not a readable ZIP archive: ${err?.message ?? 'empty'}`));
      else resolve(zip);
    });
  });
}

function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err || !stream)
        return reject(new AnswerArchiveError('ZIP_MALFORMED', `entry ${entry.fileName}: ${err?.message ?? 'unreadable'}`));
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        // validateEntrySizes stops a lying header at its declared size; this is the backstop.
        if (size > entry.uncompressedSize) {
          stream.destroy(new AnswerArchiveError('ZIP_BOMB', `entry ${entry.fileName} inflates beyond its declared size`));
          return;
        }
        chunks.push(chunk);
      });
      stream.on('error', (e: Error) =>
        reject(e instanceof AnswerArchiveError ? e : new AnswerArchiveError('ZIP_MALFORMED', `entry ${entry.fileName}: ${e.message}`)),
      );
      stream.on('end', () => resolve(Buffer.concat(chunks)));
    });
  });
}

/** Every file of the archive, after the limits above. */
export async function unzipAnswer(bytes: Buffer): Promise<Map<string, Buffer>> {
  const zip = await openZip(bytes);
  try {
    if (zip.entryCount > ARCHIVE_LIMITS.entries) {
      throw new AnswerArchiveError('ZIP_BOMB', `${zip.entryCount} entries; an answer has 2`);
    }
    const files = new Map<string, Buffer>();
    let total = 0;
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        zip.once('entry', resolve);
        zip.once('end', () => resolve(undefined));
        zip.once('error', (e: Error) => reject(new AnswerArchiveError('ZIP_MALFORMED', e.message)));
        zip.readEntry();
      });
      zip.removeAllListeners('entry').removeAllListeners('end').removeAllListeners('error');
      if (!entry) break;
      if (entry.fileName.endsWith('/')) continue;
      const declared = entry.uncompressedSize;
      total += declared;
      if (declared > ARCHIVE_LIMITS.entryBytes || total > ARCHIVE_LIMITS.totalBytes) {
        throw new AnswerArchiveError('ZIP_BOMB', `entry ${entry.fileName} declares ${declared} bytes; refused`);
      }
      if (declared > 1024 * 1024 && declared / Math.max(1, entry.compressedSize) > ARCHIVE_LIMITS.ratio) {
        throw new AnswerArchiveError(
          'ZIP_BOMB',
          `entry ${entry.fileName} compresses ${Math.round(declared / Math.max(1, entry.compressedSize))}:1; refused`,
        );
      }
      files.set(entry.fileName, await readEntry(zip, entry));
    }
    return files;
  } finally {
    zip.close();
  }
}

function attr(node: unknown, name: string): string | undefined {
  if (!node || typeof node !== 'object') return undefined;
  const v = (node as Record<string, unknown>)[`@${name}`];
  return typeof v === 'string' ? v : undefined;
}

const DUPLICATE = /Factura a mai fost transmisa anterior cu index\s*=\s*(\d+)/i;

/** The answer ZIP as a typed result: the signed invoice, or ANAF's errors. */
export async function readAnswerZip(bytes: Buffer): Promise<AnswerArchive> {
  const files = await unzipAnswer(bytes);
  const names = [...files.keys()];
  const signatureFileName = names.find((n) => /^semnatura_.*\.xml$/i.test(n));
  const mainFileName = names.find((n) => n !== signatureFileName && n.toLowerCase().endsWith('.xml'));
  if (!mainFileName)
    throw new AnswerArchiveError('ZIP_UNEXPECTED_CONTENT', `no XML document in the answer (files: ${names.join(', ') || 'none'})`);
  const main = files.get(mainFileName)!;
  const text = main.toString('utf8');

  if (text.includes(NS_ERRORS)) {
    let root: unknown;
    try {
      root = (parser.parse(text) as Record<string, unknown>).header;
    } catch (err) {
      throw new AnswerArchiveError('ZIP_UNEXPECTED_CONTENT', `ANAF's error file is not readable XML: ${(err as Error).message}`);
    }
    const raw = root && typeof root === 'object' ? (root as Record<string, unknown>).Error : undefined;
    const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
    const errors = list.map((e) => ({ message: attr(e, 'errorMessage') ?? '' })).filter((e) => e.message);
    const uploadIndex = attr(root, 'Index_incarcare');
    const supplierCif = attr(root, 'Cif_emitent');
    const duplicateOfIndex = errors.map((e) => DUPLICATE.exec(e.message)?.[1]).find((x) => x !== undefined);
    return {
      kind: 'nok',
      errorFileName: mainFileName,
      errorXml: main,
      ...(uploadIndex ? { uploadIndex } : {}),
      ...(supplierCif ? { supplierCif } : {}),
      errors,
      ...(duplicateOfIndex ? { duplicateOfIndex } : {}),
    };
  }
  if (!signatureFileName)
    throw new AnswerArchiveError('ZIP_UNEXPECTED_CONTENT', `the answer has no semnatura_*.xml (files: ${names.join(', ')})`);
  return { kind: 'ok', invoiceFileName: mainFileName, invoiceXml: main, signatureFileName, signatureXml: files.get(signatureFileName)! };
}

/** What a refused archive becomes in an activity: the typed failure the workflows expect (other errors as they are). */
export function archiveFailure(err: unknown, label: string): unknown {
  if (!(err instanceof AnswerArchiveError)) return err;
  // A truncated transfer is worth another download (ANAF allows 10 a day); a bomb is not.
  return ApplicationFailure.create({
    type: err.code === 'ZIP_MALFORMED' ? ARCHIVE_MALFORMED : ARCHIVE_REFUSED,
    message: `${label}: ${err.message}`,
    details: [{ code: err.code }],
    nonRetryable: err.code !== 'ZIP_MALFORMED',
  });
}

/** readAnswerZip for activities: a refused archive becomes the typed failure the workflows expect. */
export async function readAnswerZipOrFail(bytes: Buffer, label: string): Promise<AnswerArchive> {
  try {
    return await readAnswerZip(bytes);
  } catch (err) {
    throw archiveFailure(err, label);
  }
}
