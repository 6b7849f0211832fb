import { zipSync } from 'fflate';

/** The archive `descarcare` answers: the named files, deflated, stamped with the answer's time. */
export function zipFiles(files: Record<string, Buffer>, mtime: number): Buffer {
  const when = new Date(Math.max(mtime, Date.UTC(1980, 0, 2)));
  const entries = Object.fromEntries(Object.entries(files).map(([name, content]) => [name, [new Uint8Array(content), { mtime: when }] as const]));
  return Buffer.from(zipSync(entries as Parameters<typeof zipSync>[0]));
}
