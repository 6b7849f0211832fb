import { createPublicKey, type KeyObject } from 'node:crypto';
import { rawPublicKey, x25519PrivateKey, x25519PublicKey } from './sealed-box';

/**
 * The keys OAuth tokens are sealed with. The internet-facing API only seals (an
 * authorization code at the callback, imported tokens), so it gets the public keys and
 * nothing else; workers, which use the tokens, hold the private keys. The symmetric
 * TOKEN_ENCRYPTION_KEYS of earlier versions still open what they sealed, on workers only,
 * until the re-seal sweep has moved every stored token to the newest public key.
 */

export interface SealingPublicKey {
  id: string;
  publicKey: KeyObject;
}

export interface SealingPrivateKey extends SealingPublicKey {
  privateKey: KeyObject;
}

/** A symmetric AES-256 key (TOKEN_ENCRYPTION_KEYS): opens tokens sealed before public-key sealing. */
export interface LegacyTokenKey {
  id: string;
  key: Buffer;
}

export interface TokenSealingKeys {
  /** The first seals (the newest: rotation puts the new key first). */
  publicKeys: SealingPublicKey[];
  /** Empty in the API process. */
  privateKeys: SealingPrivateKey[];
  /** Empty in the API process. */
  legacyKeys: LegacyTokenKey[];
}

/** Which process the configuration is for: the API gets no key that opens a token. */
export type ProcessRole = 'api' | 'worker' | 'all';

/** `keyId:base64,…` as ids and bytes; the one parser of every key-list variable. Errors name no key material. */
export function parseKeyList(raw: string): Array<{ id: string; bytes: Buffer }> {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const sep = entry.indexOf(':');
      if (sep <= 0) throw new Error('each entry must be keyId:base64Key');
      const id = entry.slice(0, sep);
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new Error(`bad key id "${id}"`);
      return { id, bytes: Buffer.from(entry.slice(sep + 1), 'base64') };
    });
  if (list.length === 0) throw new Error('no keys given');
  if (new Set(list.map((k) => k.id)).size !== list.length) throw new Error('duplicate key id');
  return list;
}

/** TOKEN_SEALING_PUBLIC_KEYS: `keyId:base64(32-byte X25519 public key)`, comma-separated. Errors name no key material. */
export function parseSealingPublicKeys(raw: string): SealingPublicKey[] {
  return parseKeyList(raw).map(({ id, bytes }) => {
    try {
      return { id, publicKey: x25519PublicKey(bytes) };
    } catch (err) {
      throw new Error(`key "${id}": ${(err as Error).message}`);
    }
  });
}

/** TOKEN_SEALING_PRIVATE_KEYS: `keyId:base64(32-byte X25519 private key)`, comma-separated. */
export function parseSealingPrivateKeys(raw: string): SealingPrivateKey[] {
  return parseKeyList(raw).map(({ id, bytes }) => {
    let privateKey: KeyObject;
    try {
      privateKey = x25519PrivateKey(bytes);
    } catch (err) {
      throw new Error(`key "${id}": ${(err as Error).message}`);
    }
    return { id, privateKey, publicKey: createPublicKey(privateKey) };
  });
}

/** A public key given beside the private keys must be the private key's own. */
export function checkKeyPairsMatch(publicKeys: SealingPublicKey[], privateKeys: SealingPrivateKey[]): string | undefined {
  for (const pub of publicKeys) {
    const priv = privateKeys.find((k) => k.id === pub.id);
    if (priv && !rawPublicKey(priv.publicKey).equals(rawPublicKey(pub.publicKey))) {
      return `public key "${pub.id}" is not the public half of TOKEN_SEALING_PRIVATE_KEYS' "${pub.id}"`;
    }
  }
  return undefined;
}

/** What the API process keeps: the public keys; nothing that opens a sealed token. */
export function sealOnlyKeys(keys: TokenSealingKeys): TokenSealingKeys {
  // Copied field by field: a key pair's entry would otherwise carry its private half along.
  return { publicKeys: keys.publicKeys.map(({ id, publicKey }) => ({ id, publicKey })), privateKeys: [], legacyKeys: [] };
}
