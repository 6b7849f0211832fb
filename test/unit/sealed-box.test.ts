import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  newSealingKeyPair,
  openBox,
  rawPublicKey,
  SealedBoxOpenFailed,
  sealTo,
  x25519PrivateKey,
  x25519PublicKey,
} from '../../lib/crypto/sealed-box';

// A box sealed by lib/crypto/sealed-box.ts as it was before keys went in and out as JWK (DER then):
// tokens sealed since issue 15 sit in workflow state, so every one of them must still open.
const PRIVATE = (() => {
  const raw = Buffer.alloc(32, 7);
  raw[0]! &= 248;
  raw[31] = (raw[31]! & 127) | 64;
  return raw;
})();
const PUBLIC_B64 = 'E75P6uryBMf9M1j8nAByGIHRdCeBKCJ+xnTzf3/pe20=';
const SEALED_BEFORE = 'bg3Qowa0sCK57NuoaylIfwlKlmtYsS91Gd6mOk6gDU4dAyRczMvGoGzDzvsA/UFTKDaZmgm5Z2sHbjRAVnL679FunWXzvbpC6AlCfxR+LC2anVfc';

describe('sealed box', () => {
  test('a box sealed before the JWK key encoding opens, and the raw public key is the same bytes', () => {
    const privateKey = x25519PrivateKey(PRIVATE);
    assert.equal(rawPublicKey(createPublicKey(privateKey)).toString('base64'), PUBLIC_B64);
    assert.equal(
      openBox(privateKey, Buffer.from(SEALED_BEFORE, 'base64'), 'sealed:v2:k1').toString(),
      'a token sealed before the JWK change',
    );
    assert.throws(() => openBox(privateKey, Buffer.from(SEALED_BEFORE, 'base64'), 'sealed:v2:k2'), SealedBoxOpenFailed);
  });

  test('raw keys round-trip and match the DER form byte for byte; a wrong length or key type is refused', () => {
    const { publicKey } = generateKeyPairSync('x25519');
    const der = publicKey.export({ format: 'der', type: 'spki' });
    const raw = rawPublicKey(publicKey);
    assert.deepEqual(raw, der.subarray(der.length - 32));
    assert.deepEqual(x25519PublicKey(raw).export({ format: 'der', type: 'spki' }), der);
    assert.throws(() => x25519PublicKey(raw.subarray(1)), /32 bytes/);
    assert.throws(() => rawPublicKey(generateKeyPairSync('ed25519').publicKey), /not an X25519 key/);
  });

  test('seal and open with one key object many times (its public half is derived once); another key does not open', () => {
    const pair = newSealingKeyPair();
    const privateKey = x25519PrivateKey(Buffer.from(pair.privateKey, 'base64'));
    const recipient = x25519PublicKey(Buffer.from(pair.publicKey, 'base64'));
    for (let i = 0; i < 3; i++) {
      const box = sealTo(recipient, Buffer.from(`secret ${i}`), 'ctx');
      assert.equal(openBox(privateKey, box, 'ctx').toString(), `secret ${i}`);
    }
    const other = x25519PrivateKey(Buffer.from(newSealingKeyPair().privateKey, 'base64'));
    assert.throws(() => openBox(other, sealTo(recipient, Buffer.from('x'), 'ctx'), 'ctx'), SealedBoxOpenFailed);
  });
});
