import { validateXML } from 'xmllint-wasm';
import { BANCIWS_XSD, type BanciwsDocument } from './xsd';

/**
 * XSD validation by libxml2 (xmllint-wasm). Each xmllint run costs a worker thread and a
 * WebAssembly instantiation (~100–250 ms), so documents of one kind that arrive while a
 * run is under way are validated together in the next run — xmllint takes many files at
 * once and reports per file. Concurrent calls through one session then share runs
 * instead of queueing behind each other.
 */

interface Pending {
  fileName: string;
  xml: string;
  resolve: (problems: string[]) => void;
  reject: (err: unknown) => void;
}

const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const queues = new Map<BanciwsDocument, Pending[]>();
const running = new Set<BanciwsDocument>();
let counter = 0;

async function runBatch(doc: BanciwsDocument, batch: Pending[]): Promise<void> {
  const bytes = batch.reduce((n, p) => n + Buffer.byteLength(p.xml), 0);
  const mb = Math.ceil(bytes / (1024 * 1024));
  try {
    const result = await validateXML({
      xml: batch.map((p) => ({ fileName: p.fileName, contents: p.xml })),
      schema: { fileName: `${doc}.xsd`, contents: BANCIWS_XSD[doc] },
      // 64 KiB pages: the documents and their parsed trees must fit.
      maxMemoryPages: Math.min(65536, 512 + mb * 16 * 8),
    });
    const byFile = new Map<string, string[]>();
    for (const e of result.errors) {
      const file = e.loc?.fileName ?? e.rawMessage.trim().split(/\s+/)[0] ?? '';
      if (e.rawMessage.trim().endsWith('fails to validate') && !e.loc) continue;
      byFile.set(file, [...(byFile.get(file) ?? []), e.message.trim()]);
    }
    for (const p of batch) p.resolve(byFile.get(p.fileName) ?? []);
  } catch (err) {
    for (const p of batch) p.reject(err);
  }
}

function drain(doc: BanciwsDocument): void {
  if (running.has(doc)) return;
  const queue = queues.get(doc) ?? [];
  if (queue.length === 0) return;
  const batch: Pending[] = [];
  let bytes = 0;
  while (queue.length && (batch.length === 0 || bytes + queue[0]!.xml.length <= MAX_BATCH_BYTES)) {
    const next = queue.shift()!;
    bytes += next.xml.length;
    batch.push(next);
  }
  running.add(doc);
  void runBatch(doc, batch).finally(() => {
    running.delete(doc);
    drain(doc);
  });
}

/** libxml2's problems with `xml` against our schema for `doc`; [] when valid. */
export function validateBanciws(doc: BanciwsDocument, xml: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const queue = queues.get(doc) ?? [];
    queues.set(doc, queue);
    queue.push({ fileName: `${doc}-${++counter}.xml`, xml, resolve, reject });
    // Let the calls of this tick join the batch before it starts.
    setImmediate(() => drain(doc));
  });
}
