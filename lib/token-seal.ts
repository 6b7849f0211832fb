import { KeyRing } from './aes-gcm';
import type { PayloadKey } from './config';

/** An OAuth token (or code) sealed with TOKEN_ENCRYPTION_KEYS: safe to keep in workflow state. */
export type SealedSecret = string & { readonly __sealed: unique symbol };

const PREFIX = 'sealed:v1:';

/**
 * Tokens live in the workflow that owns them, but only sealed: Temporal's payload codec
 * already encrypts history, and this second, separate key means that an operator who
 * decodes payloads in the Web UI (through the codec server) still sees no token.
 */
export class TokenSealer {
  private readonly ring: KeyRing;

  constructor(keys: PayloadKey[]) {
    this.ring = new KeyRing(keys);
  }

  seal(secret: string): SealedSecret {
    const { keyId, data } = this.ring.encrypt(Buffer.from(secret, 'utf8'));
    return `${PREFIX}${keyId}:${data.toString('base64url')}` as SealedSecret;
  }

  open(sealed: SealedSecret | string): string {
    if (!sealed.startsWith(PREFIX)) throw new Error('not a sealed secret');
    const rest = sealed.slice(PREFIX.length);
    const sep = rest.indexOf(':');
    if (sep <= 0) throw new Error('malformed sealed secret');
    return this.ring.decrypt(rest.slice(0, sep), Buffer.from(rest.slice(sep + 1), 'base64url')).toString('utf8');
  }
}

export function isSealed(value: unknown): value is SealedSecret {
  return typeof value === 'string' && value.startsWith(PREFIX);
}
