import { createHash, randomBytes } from 'node:crypto';
import fsCallbacks from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

// The callback API, promisified: node 20's fs/promises readFile/writeFile go through a FileHandle
// and cost more CPU per small document (a lifecycle reads and writes several).
const fs = {
  access: promisify(fsCallbacks.access),
  mkdir: promisify(fsCallbacks.mkdir),
  readFile: promisify(fsCallbacks.readFile),
  rename: promisify(fsCallbacks.rename),
  writeFile: promisify(fsCallbacks.writeFile),
};

/**
 * Documents (invoice XML, ANAF's answer ZIPs, signed PDFs) live here, not in Temporal:
 * workflows carry references, never megabytes of payload. Content-addressed, so storing
 * the same bytes twice is free and a reference can never point at changed content.
 */
export interface BlobRef {
  /** `<tenant>/<sha256>`: the tenant owns it, the hash names it. */
  key: string;
  sha256: string;
  size: number;
  contentType: string;
}

export interface BlobStore {
  put(tenant: string, bytes: Buffer, contentType: string): Promise<BlobRef>;
  get(key: string): Promise<Buffer>;
  /** Stores bytes and remembers them under a tenant-scoped name (e.g. ANAF's download id). */
  putNamed(tenant: string, name: string, bytes: Buffer, contentType: string): Promise<BlobRef>;
  /** What was stored under that name, if anything. */
  getNamed(tenant: string, name: string): Promise<Buffer | undefined>;
}

export class BlobNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`no stored document ${key}`);
    this.name = 'BlobNotFoundError';
  }
}

const KEY = /^([a-z0-9][a-z0-9-]{0,62}|_system)\/([0-9a-f]{64})$/;
const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/**
 * A name as a file name. Names are opaque (they carry identifiers ANAF chose): one that is
 * already a plain file name is used as it is (where the entries stored so far live); any other
 * is hex-encoded behind "_" (a prefix no plain name has), or hashed when that would be too long.
 * Nothing a name holds can reach outside the store.
 */
function fileNameOf(name: string): string {
  if (NAME.test(name)) return name;
  if (name === '') throw new Error('empty document name');
  const hex = Buffer.from(name, 'utf8').toString('hex');
  return hex.length <= 200 ? `_${hex}` : `_h${sha256Hex(name)}`;
}

export function sha256Hex(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The filesystem store under DATA_DIR/blobs; share the directory between API and workers. */
export class FileBlobStore implements BlobStore {
  /** Directories this process made or found: asked once, not before every write. */
  private readonly madeDirs = new Set<string>();

  constructor(private readonly root: string) {}

  /** Write-then-rename: a reader never sees half a document, even after a crash. */
  private async writeAtomically(file: string, bytes: Buffer | string): Promise<void> {
    const dir = path.dirname(file);
    if (!this.madeDirs.has(dir)) {
      await fs.mkdir(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await fs.writeFile(tmp, bytes, { mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // The directory went away since (removed by hand): make it again.
      this.madeDirs.delete(dir);
      await fs.mkdir(dir, { recursive: true });
      await fs.writeFile(tmp, bytes, { mode: 0o600 });
    }
    await fs.rename(tmp, file);
  }

  private pathOf(key: string): string {
    const m = KEY.exec(key);
    if (!m) throw new Error(`malformed document key ${JSON.stringify(key)}`);
    return path.join(this.root, m[1]!, m[2]!.slice(0, 2), m[2]!);
  }

  async put(tenant: string, bytes: Buffer, contentType: string): Promise<BlobRef> {
    const sha256 = sha256Hex(bytes);
    const key = `${tenant}/${sha256}`;
    const file = this.pathOf(key);
    try {
      await fs.access(file);
    } catch {
      await this.writeAtomically(file, bytes);
    }
    return { key, sha256, size: bytes.length, contentType };
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(key);
      throw err;
    }
  }

  private namePath(tenant: string, name: string): string {
    this.pathOf(`${tenant}/${'0'.repeat(64)}`); // validates the tenant
    return path.join(this.root, tenant, 'names', fileNameOf(name));
  }

  async putNamed(tenant: string, name: string, bytes: Buffer, contentType: string): Promise<BlobRef> {
    const ref = await this.put(tenant, bytes, contentType);
    await this.writeAtomically(this.namePath(tenant, name), ref.key);
    return ref;
  }

  async getNamed(tenant: string, name: string): Promise<Buffer | undefined> {
    let key: string;
    try {
      key = (await fs.readFile(this.namePath(tenant, name), 'utf8')).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return await this.get(key);
    } catch (err) {
      if (err instanceof BlobNotFoundError) return undefined;
      throw err;
    }
  }
}

export function blobStoreFor(dataDir: string): BlobStore {
  return new FileBlobStore(path.join(dataDir, 'blobs'));
}
