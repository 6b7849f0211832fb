import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';

export interface PayloadKey {
  id: string;
  key: Buffer;
}

const CIPHER = 'aes-256-gcm';
export const IV_BYTES = 12;
export const TAG_BYTES = 16;

export class KeyNotFoundError extends Error {
  constructor(readonly keyId: string) {
    super(`no key "${keyId}" is configured`);
    this.name = 'KeyNotFoundError';
  }
}

export class DecryptionFailedError extends Error {
  constructor(readonly keyId: string) {
    super(`ciphertext failed authentication with key "${keyId}"`);
    this.name = 'DecryptionFailedError';
  }
}

/**
 * Fresh random IVs, drawn from the CSPRNG 4 KiB at a time: each call to it has a fixed cost
 * (≈ 30–80 µs on a busy worker, several times per workflow task through the payload codec),
 * whatever the length asked. Every IV is a copy of bytes never handed out before.
 */
const ivPool = { bytes: Buffer.alloc(IV_BYTES * 341), next: IV_BYTES * 341 };
export function freshIv(): Buffer {
  if (ivPool.next + IV_BYTES > ivPool.bytes.length) {
    randomFillSync(ivPool.bytes);
    ivPool.next = 0;
  }
  const iv = Buffer.from(ivPool.bytes.subarray(ivPool.next, ivPool.next + IV_BYTES));
  ivPool.next += IV_BYTES;
  return iv;
}

/**
 * A set of AES-256 keys: the first encrypts, any decrypts (rotation). The key id is bound
 * as additional authenticated data, so relabelling ciphertext with another id fails.
 * Output: iv ‖ ciphertext ‖ tag.
 */
export class KeyRing {
  private readonly byId: Map<string, Buffer>;
  readonly currentId: string;

  constructor(keys: PayloadKey[]) {
    const [first] = keys;
    if (!first) throw new Error('a key ring needs at least one key');
    this.currentId = first.id;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  encrypt(plain: Uint8Array): { keyId: string; data: Buffer } {
    const iv = freshIv();
    const cipher = createCipheriv(CIPHER, this.byId.get(this.currentId)!, iv);
    cipher.setAAD(Buffer.from(this.currentId));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return { keyId: this.currentId, data: Buffer.concat([iv, body, cipher.getAuthTag()]) };
  }

  decrypt(keyId: string, data: Uint8Array): Buffer {
    const key = this.byId.get(keyId);
    if (!key) throw new KeyNotFoundError(keyId);
    const buf = Buffer.from(data);
    if (buf.length < IV_BYTES + TAG_BYTES) throw new DecryptionFailedError(keyId);
    const decipher = createDecipheriv(CIPHER, key, buf.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(keyId));
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new DecryptionFailedError(keyId);
    }
  }
}
