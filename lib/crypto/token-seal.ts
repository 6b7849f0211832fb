import { hkdfSync } from 'node:crypto';
import { KeyRing } from './aes-gcm';
import type { PayloadKey } from './aes-gcm';
import { openBox, sealTo, x25519PrivateKey } from './sealed-box';
import { SEALED_V2, parseSealed, sealedUnder } from './sealed-secret-format';
import type { SealingPrivateKey, SealingPublicKey, TokenSealingKeys } from './token-sealing-keys';
import { createPublicKey } from 'node:crypto';

/** An OAuth token (or code) sealed to a token-sealing public key: safe to keep in workflow state. */
export type SealedSecret = string & { readonly __sealed: unique symbol };

export class TokenNotOpenable extends Error {
  constructor(reason: string) {
    super(`sealed token cannot be opened: ${reason}`);
    this.name = 'TokenNotOpenable';
  }
}

/**
 * Tokens live in the workflow that owns them, but only sealed: Temporal's payload codec
 * already encrypts history, and this second, separate key means that an operator who
 * decodes payloads in the Web UI (through the codec server) still sees no token.
 *
 * Sealing needs a public key only, so the internet-facing API (which seals an
 * authorization code or imported tokens) can hold this class and nothing that opens.
 */
export class TokenSealBox {
  protected readonly newest: SealingPublicKey;

  constructor(publicKeys: SealingPublicKey[]) {
    const [first] = publicKeys;
    if (!first) throw new Error('sealing needs a public key (TOKEN_SEALING_PUBLIC_KEYS)');
    this.newest = first;
  }

  /** The key new seals go to; the re-seal sweep moves every stored token to it. */
  get newestKeyId(): string {
    return this.newest.id;
  }

  seal(secret: string): SealedSecret {
    const box = sealTo(this.newest.publicKey, Buffer.from(secret, 'utf8'), `${SEALED_V2}${this.newest.id}`);
    return `${SEALED_V2}${this.newest.id}:${box.toString('base64url')}` as SealedSecret;
  }
}

/**
 * What workers hold: seals like the API, opens with TOKEN_SEALING_PRIVATE_KEYS, and still
 * opens tokens sealed the old symmetric way (TOKEN_ENCRYPTION_KEYS) until they are re-sealed.
 */
export class TokenSealer extends TokenSealBox {
  private readonly privateKeys: Map<string, SealingPrivateKey>;
  private readonly legacy: KeyRing | undefined;

  constructor(keys: TokenSealingKeys) {
    super(keys.publicKeys);
    this.privateKeys = new Map(keys.privateKeys.map((k) => [k.id, k]));
    this.legacy = keys.legacyKeys.length ? new KeyRing(keys.legacyKeys) : undefined;
  }

  open(sealed: SealedSecret | string): string {
    const parts = parseSealed(sealed);
    if (!parts) throw new TokenNotOpenable('not a sealed secret');
    if (parts.version === 'v1') {
      if (!this.legacy) throw new TokenNotOpenable(`sealed with TOKEN_ENCRYPTION_KEYS key "${parts.keyId}", and none is configured`);
      return this.legacy.decrypt(parts.keyId, Buffer.from(parts.body, 'base64url')).toString('utf8');
    }
    const key = this.privateKeys.get(parts.keyId);
    if (!key) throw new TokenNotOpenable(`no TOKEN_SEALING_PRIVATE_KEYS key "${parts.keyId}"`);
    return openBox(key.privateKey, Buffer.from(parts.body, 'base64url'), `${SEALED_V2}${parts.keyId}`).toString('utf8');
  }

  /** The same secret sealed to the newest key (unchanged when it already is). */
  reseal(sealed: string): SealedSecret {
    return sealedUnder(sealed, this.newestKeyId) ? (sealed as SealedSecret) : this.seal(this.open(sealed));
  }
}

export function isSealed(value: unknown): value is SealedSecret {
  return typeof value === 'string' && parseSealed(value) !== undefined;
}

/**
 * Sandbox only (lib/config/config.ts): a key pair derived from the first TOKEN_ENCRYPTION_KEYS key,
 * so `npm run dev` and the tests need no extra variable. Never used outside the sandbox.
 */
export function sandboxSealingKeyFrom(legacy: PayloadKey): SealingPrivateKey {
  const raw = Buffer.from(hkdfSync('sha256', legacy.key, Buffer.alloc(0), Buffer.from('anaf-flow sandbox token sealing key'), 32));
  const privateKey = x25519PrivateKey(raw);
  return { id: `${legacy.id}.x25519`, privateKey, publicKey: createPublicKey(privateKey) };
}
