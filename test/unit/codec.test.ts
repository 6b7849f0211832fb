import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultPayloadConverter } from '@temporalio/common';
import { IV_BYTES } from '../../lib/crypto/aes-gcm';
import { AesGcmPayloadCodec, KEY_ID_METADATA, UnknownEncryptionKeyError } from '../../lib/temporal/codec';

const k1 = { id: 'k1', key: Buffer.alloc(32, 1) };
const k2 = { id: 'k2', key: Buffer.alloc(32, 2) };
const secret = { invoice: 'FACT-0001', token: 'super-secret-token-value' };

describe('AES-256-GCM payload codec', () => {
  test('round trip restores the payload and the ciphertext hides it', async () => {
    const codec = new AesGcmPayloadCodec([k1]);
    const payload = defaultPayloadConverter.toPayload(secret);
    const [encoded] = await codec.encode([payload]);
    assert.ok(encoded);
    assert.equal(Buffer.from(encoded.metadata![KEY_ID_METADATA]!).toString(), 'k1');
    assert.ok(!Buffer.from(encoded.data!).toString('latin1').includes('super-secret'), 'plaintext leaked');
    assert.ok(!Buffer.from(encoded.data!).toString('latin1').includes('json/plain'), 'metadata leaked');
    const [decoded] = await codec.decode([encoded]);
    assert.deepEqual(defaultPayloadConverter.fromPayload(decoded!), secret);
  });

  test('two encodings of the same value differ (random IV)', async () => {
    const codec = new AesGcmPayloadCodec([k1]);
    const payload = defaultPayloadConverter.toPayload(secret);
    const [a] = await codec.encode([payload]);
    const [b] = await codec.encode([payload]);
    assert.notDeepEqual(Buffer.from(a!.data!), Buffer.from(b!.data!));
  });

  test('IVs come from a pool of random bytes: 2,000 encodings (several refills) use 2,000 different IVs, none all zeros', async () => {
    const codec = new AesGcmPayloadCodec([k1]);
    const encoded = await codec.encode(Array.from({ length: 2000 }, () => defaultPayloadConverter.toPayload(secret)));
    const ivs = new Set(encoded.map((p) => Buffer.from(p.data!).subarray(0, IV_BYTES).toString('hex')));
    assert.equal(ivs.size, 2000);
    assert.ok(!ivs.has('00'.repeat(IV_BYTES)));
    for (const p of (await codec.decode(encoded)).slice(0, 3)) assert.deepEqual(defaultPayloadConverter.fromPayload(p), secret);
  });

  test('a payload encrypted with an unknown key is refused with the key id', async () => {
    const [encoded] = await new AesGcmPayloadCodec([k1]).encode([defaultPayloadConverter.toPayload(secret)]);
    await assert.rejects(new AesGcmPayloadCodec([k2]).decode([encoded!]), (err: unknown) => {
      assert.ok(err instanceof UnknownEncryptionKeyError);
      assert.equal(err.keyId, 'k1');
      return true;
    });
  });

  test('the wrong key under the right id fails authentication instead of returning garbage', async () => {
    const [encoded] = await new AesGcmPayloadCodec([k1]).encode([defaultPayloadConverter.toPayload(secret)]);
    const impostor = new AesGcmPayloadCodec([{ id: 'k1', key: Buffer.alloc(32, 9) }]);
    await assert.rejects(impostor.decode([encoded!]), /failed authentication/);
  });

  test('tampered ciphertext or a swapped key id is detected', async () => {
    const codec = new AesGcmPayloadCodec([k1, { id: 'k1b', key: k1.key }]);
    const [encoded] = await codec.encode([defaultPayloadConverter.toPayload(secret)]);
    const flipped = Buffer.from(encoded!.data!);
    flipped[20] = flipped[20]! ^ 0xff;
    await assert.rejects(codec.decode([{ ...encoded!, data: flipped }]), /failed authentication/);
    const relabeled = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k1b') } };
    await assert.rejects(codec.decode([relabeled]), /failed authentication/);
  });

  test('rotation: the newest key encrypts, older keys still decrypt', async () => {
    const old = new AesGcmPayloadCodec([k1]);
    const rotated = new AesGcmPayloadCodec([k2, k1]);
    const [fromOld] = await old.encode([defaultPayloadConverter.toPayload(secret)]);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await rotated.decode([fromOld!]))[0]!), secret);
    const [fromNew] = await rotated.encode([defaultPayloadConverter.toPayload(secret)]);
    assert.equal(Buffer.from(fromNew!.metadata![KEY_ID_METADATA]!).toString(), 'k2');
    await assert.rejects(old.decode([fromNew!]), UnknownEncryptionKeyError);
  });

  test('unencrypted payloads pass through decode untouched', async () => {
    const plain = defaultPayloadConverter.toPayload(secret);
    const [out] = await new AesGcmPayloadCodec([k1]).decode([plain]);
    assert.equal(out, plain);
  });
});
