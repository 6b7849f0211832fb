import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec, ValueError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { DecryptionFailedError, KeyNotFoundError, KeyRing } from '../crypto/aes-gcm';
import type { PayloadKey } from '../crypto/aes-gcm';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class UnknownEncryptionKeyError extends ValueError {
  constructor(readonly keyId: string) {
    super(`Payload was encrypted with key "${keyId}", which is not configured in PAYLOAD_ENCRYPTION_KEYS`);
  }
}

/**
 * A payload that reached a worker unencrypted outside the sandbox: nobody with our key sent
 * it (every client of ours encrypts), so it is someone at Temporal's port, e.g. a plaintext
 * `resolve`. The workflow task fails with this and the message is never applied.
 */
export class PlaintextPayloadRefused extends ValueError {
  constructor(readonly encoding: string) {
    super(
      `Unencrypted payload (encoding "${encoding}") refused: outside the sandbox every payload must be encrypted with PAYLOAD_ENCRYPTION_KEYS`,
    );
  }
}

export interface PayloadCodecOptions {
  /** Refuse payloads that are not encrypted (workers outside the sandbox); called before the refusal is thrown. */
  refusePlaintext?: { onRefused(encoding: string): void };
}

/**
 * AES-256-GCM over the whole serialized Payload (metadata included), so Temporal's
 * database holds only ciphertext and a key id. Several keys: the first encrypts, any
 * decrypts, which is how keys are rotated without breaking running workflows.
 */
export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly ring: KeyRing;

  constructor(
    keys: PayloadKey[],
    private readonly options: PayloadCodecOptions = {},
  ) {
    this.ring = new KeyRing(keys);
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const { keyId, data } = this.ring.encrypt(temporal.api.common.v1.Payload.encode(payload).finish());
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: encoder.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: encoder.encode(keyId),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
      if (!encoding || decoder.decode(encoding) !== ENCRYPTED_ENCODING) {
        if (!this.options.refusePlaintext) return payload;
        const name = encoding ? decoder.decode(encoding).slice(0, 64) : 'none';
        this.options.refusePlaintext.onRefused(name);
        throw new PlaintextPayloadRefused(name);
      }
      const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
      if (!keyIdBytes) throw new ValueError('Encrypted payload has no key id');
      const keyId = decoder.decode(keyIdBytes);
      try {
        return temporal.api.common.v1.Payload.decode(this.ring.decrypt(keyId, payload.data ?? new Uint8Array()));
      } catch (err) {
        if (err instanceof KeyNotFoundError) throw new UnknownEncryptionKeyError(keyId);
        if (err instanceof DecryptionFailedError) throw new ValueError(`Encrypted payload failed authentication with key "${keyId}"`);
        throw err;
      }
    });
  }
}
