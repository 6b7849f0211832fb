import { zipSync } from 'fflate';

/** What a hostile `descarcare` serves instead of the answer (see EfacturaState.serveHostileArchive). */
export type HostileArchiveKind = 'bomb' | 'truncated';
export const HOSTILE_ARCHIVE_KINDS = ['bomb', 'truncated'] as const satisfies readonly HostileArchiveKind[];

const BOMB_ENTRY_BYTES = 4 * 1024 * 1024;

/** The archive `descarcare` answers: the named files, deflated, stamped with the answer's time. */
export function zipFiles(files: Record<string, Buffer>, mtime: number): Buffer {
  const when = new Date(Math.max(mtime, Date.UTC(1980, 0, 2)));
  const entries = Object.fromEntries(
    Object.entries(files).map(([name, content]) => [name, [new Uint8Array(content), { mtime: when }] as const]),
  );
  return Buffer.from(zipSync(entries as Parameters<typeof zipSync>[0]));
}

/**
 * A hostile stand-in for an answer archive: 'bomb' names the answer's files but one of them
 * is 4 MB of zeros deflated ~1000:1; 'truncated' is the real archive cut in half (its local
 * header intact, its central directory missing), like a transfer that stopped early.
 */
export function hostileArchive(kind: HostileArchiveKind, files: Record<string, Buffer>, mtime: number): Buffer {
  if (kind === 'truncated') {
    const whole = zipFiles(files, mtime);
    return whole.subarray(0, Math.max(30, Math.floor(whole.length / 2)));
  }
  const [first = 'answer.xml', ...rest] = Object.keys(files);
  return zipFiles(
    { [first]: Buffer.alloc(BOMB_ENTRY_BYTES, 0x20), ...Object.fromEntries(rest.map((name) => [name, files[name]!])) },
    mtime,
  );
}
