import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from 'node:crypto';

/**
 * An HPKE-style sealed box (base mode, X25519 + HKDF-SHA256 + AES-256-GCM) from node:crypto:
 * anyone holding the public key can seal, only the private key opens. Each box has its own
 * ephemeral key pair, so the key and nonce HKDF derives are used once.
 * Box: ephemeral public key (32) ‖ ciphertext ‖ GCM tag (16). `context` is bound as AAD and
 * into HKDF's info, so a box cannot be relabelled (e.g. with another key id).
 */

const RAW_BYTES = 32;
const TAG_BYTES = 16;
// DER prefix of an X25519 private key (OID 1.3.101.110) around its 32 raw bytes (read once, at start).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

// Raw keys go in and out as JWK, not DER: the same 32 bytes, but OpenSSL 3's DER decoder and
// encoder cost ≈ 0.5 ms and 0.3 ms per key here against ≈ 20 µs and 5 µs for JWK — and every
// token a worker opens imported one key and exported another (bench/RESULTS.md section 1).
export function x25519PublicKey(raw: Buffer): KeyObject {
  if (raw.length !== RAW_BYTES) throw new Error(`an X25519 public key is ${RAW_BYTES} bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

export function x25519PrivateKey(raw: Buffer): KeyObject {
  if (raw.length !== RAW_BYTES) throw new Error(`an X25519 private key is ${RAW_BYTES} bytes, got ${raw.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' });
}

export function rawPublicKey(key: KeyObject): Buffer {
  const { x } = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType !== 'x25519' || !x) throw new Error(`not an X25519 key: ${key.asymmetricKeyType}`);
  return Buffer.from(x, 'base64url');
}

/** A private key's own public half, raw: asked on every open, so derived once per key object. */
const recipientOf = new WeakMap<KeyObject, Buffer>();
function rawRecipient(privateKey: KeyObject): Buffer {
  let raw = recipientOf.get(privateKey);
  if (!raw) recipientOf.set(privateKey, (raw = rawPublicKey(createPublicKey(privateKey))));
  return raw;
}

function rawPrivateKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
}

/** A new key pair, raw bytes in base64 (the form TOKEN_SEALING_*_KEYS take). */
export function newSealingKeyPair(): { publicKey: string; privateKey: string } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawPublicKey(publicKey).toString('base64'), privateKey: rawPrivateKey(privateKey).toString('base64') };
}

function keyAndNonce(shared: Buffer, ephemeral: Buffer, recipient: Buffer, context: string): { key: Buffer; nonce: Buffer } {
  const okm = Buffer.from(
    hkdfSync('sha256', shared, Buffer.concat([ephemeral, recipient]), Buffer.from(`anaf-flow sealed box|${context}`), 44),
  );
  return { key: okm.subarray(0, 32), nonce: okm.subarray(32) };
}

export function sealTo(recipient: KeyObject, plain: Buffer, context: string): Buffer {
  const eph = generateKeyPairSync('x25519');
  const ephemeral = rawPublicKey(eph.publicKey);
  const shared = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
  const { key, nonce } = keyAndNonce(shared, ephemeral, rawPublicKey(recipient), context);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(context));
  return Buffer.concat([ephemeral, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

export class SealedBoxOpenFailed extends Error {
  constructor(context: string) {
    super(`sealed box failed authentication (${context})`);
    this.name = 'SealedBoxOpenFailed';
  }
}

export function openBox(privateKey: KeyObject, box: Buffer, context: string): Buffer {
  if (box.length < RAW_BYTES + TAG_BYTES) throw new SealedBoxOpenFailed(context);
  const ephemeral = box.subarray(0, RAW_BYTES);
  try {
    const shared = diffieHellman({ privateKey, publicKey: x25519PublicKey(ephemeral) });
    const { key, nonce } = keyAndNonce(shared, ephemeral, rawRecipient(privateKey), context);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(Buffer.from(context));
    decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
    return Buffer.concat([decipher.update(box.subarray(RAW_BYTES, box.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealedBoxOpenFailed(context);
  }
}
