import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KeyRing } from '../../lib/crypto/aes-gcm';
import { ConfigError, loadConfig } from '../../lib/config/config';
import { newSealingKeyPair } from '../../lib/crypto/sealed-box';
import { TokenNotOpenable, TokenSealBox, TokenSealer } from '../../lib/crypto/token-seal';

const LEGACY = `t1:${Buffer.alloc(32, 1).toString('base64')}`;
const OLD = newSealingKeyPair();
const NEW = newSealingKeyPair();
const prod = {
  ANAF_ENV: 'prod',
  PAYLOAD_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 4).toString('base64')}`,
  API_KEYS: 'acme:0123456789abcdef0123',
  ANAF_CLIENT_ID: 'c',
  ANAF_CLIENT_SECRET: 's',
  ANAF_REDIRECT_URI: 'https://erp.example/oauth/callback',
};
const workerEnv = { ...prod, TOKEN_SEALING_PRIVATE_KEYS: `new:${NEW.privateKey},old:${OLD.privateKey}`, TOKEN_ENCRYPTION_KEYS: LEGACY };
const apiEnv = { ...prod, TOKEN_SEALING_PUBLIC_KEYS: `new:${NEW.publicKey},old:${OLD.publicKey}` };

/** A token as versions before public-key sealing stored it (AES-256-GCM under TOKEN_ENCRYPTION_KEYS). */
function legacySealed(secret: string): string {
  const [id, key] = LEGACY.split(':') as [string, string];
  const { keyId, data } = new KeyRing([{ id, key: Buffer.from(key, 'base64') }]).encrypt(Buffer.from(secret));
  return `sealed:v1:${keyId}:${data.toString('base64url')}`;
}

function expectConfigError(run: () => unknown, variable: string, pattern?: RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.variable, variable);
    if (pattern) assert.match(err.message, pattern);
    for (const secret of [NEW.privateKey, OLD.privateKey]) assert.ok(!err.message.includes(secret), 'no key material in the error');
    return true;
  });
}

describe('token sealing (issue 15 item 5)', () => {
  test('the API process cannot open a sealed token: its configuration holds public keys only', () => {
    const api = loadConfig(apiEnv, { role: 'api' });
    assert.deepEqual(api.tokenSealing.privateKeys, []);
    assert.deepEqual(api.tokenSealing.legacyKeys, []);
    const sealed = new TokenSealBox(api.tokenSealing.publicKeys).seal('authorization-code-123');
    assert.match(sealed, /^sealed:v2:new:/);
    assert.ok(!sealed.includes('authorization-code-123'));
    assert.throws(() => new TokenSealer(api.tokenSealing).open(sealed), TokenNotOpenable, 'nothing in the API configuration opens it');
    assert.equal(new TokenSealer(loadConfig(workerEnv, { role: 'worker' }).tokenSealing).open(sealed), 'authorization-code-123');
  });

  test('in the sandbox too (dev secrets, shared test env) the API keeps no key that opens', () => {
    const sandbox = { ...workerEnv, ANAF_ENV: 'sandbox' };
    const api = loadConfig(sandbox, { role: 'api', generateDevSecrets: false });
    assert.deepEqual([api.tokenSealing.privateKeys, api.tokenSealing.legacyKeys], [[], []]);
    for (const k of api.tokenSealing.publicKeys)
      assert.deepEqual(Object.keys(k).sort(), ['id', 'publicKey'], 'no private half rides along');
    assert.ok(api.tokenSealing.publicKeys.every((k) => k.publicKey.type === 'public'));
    assert.equal(loadConfig(sandbox, { generateDevSecrets: false }).tokenSealing.privateKeys.length, 2);
  });

  test('outside the sandbox the API refuses to start with a key that opens tokens', () => {
    expectConfigError(
      () => loadConfig({ ...apiEnv, TOKEN_SEALING_PRIVATE_KEYS: `new:${NEW.privateKey}` }, { role: 'api' }),
      'TOKEN_SEALING_PRIVATE_KEYS',
      /API process/,
    );
    expectConfigError(
      () => loadConfig({ ...apiEnv, TOKEN_ENCRYPTION_KEYS: LEGACY }, { role: 'api' }),
      'TOKEN_ENCRYPTION_KEYS',
      /API process/,
    );
    expectConfigError(() => loadConfig(prod, { role: 'api' }), 'TOKEN_SEALING_PUBLIC_KEYS', /required/);
    expectConfigError(() => loadConfig(prod, { role: 'worker' }), 'TOKEN_SEALING_PRIVATE_KEYS', /required/);
  });

  test('TOKEN_SEALING_PUBLIC_KEYS / TOKEN_SEALING_PRIVATE_KEYS parsing names the variable and never the key', () => {
    const short = Buffer.alloc(16, 1).toString('base64');
    expectConfigError(
      () => loadConfig({ ...prod, TOKEN_SEALING_PUBLIC_KEYS: `a:${short}` }, { role: 'api' }),
      'TOKEN_SEALING_PUBLIC_KEYS',
      /key "a".*32 bytes/,
    );
    expectConfigError(
      () => loadConfig({ ...prod, TOKEN_SEALING_PUBLIC_KEYS: NEW.publicKey }, { role: 'api' }),
      'TOKEN_SEALING_PUBLIC_KEYS',
      /keyId:base64Key/,
    );
    expectConfigError(
      () => loadConfig({ ...prod, TOKEN_SEALING_PRIVATE_KEYS: `a:${short}` }),
      'TOKEN_SEALING_PRIVATE_KEYS',
      /key "a".*32 bytes/,
    );
    expectConfigError(
      () => loadConfig({ ...prod, TOKEN_SEALING_PRIVATE_KEYS: `a:${NEW.privateKey},a:${OLD.privateKey}` }),
      'TOKEN_SEALING_PRIVATE_KEYS',
      /duplicate key id/,
    );
    expectConfigError(
      () => loadConfig({ ...prod, TOKEN_SEALING_PRIVATE_KEYS: `a:${NEW.privateKey}`, TOKEN_SEALING_PUBLIC_KEYS: `a:${OLD.publicKey}` }),
      'TOKEN_SEALING_PUBLIC_KEYS',
      /not the public half/,
    );
    const worker = loadConfig(workerEnv, { role: 'worker' }).tokenSealing;
    assert.deepEqual(
      worker.publicKeys.map((k) => k.id),
      ['new', 'old'],
      'workers derive the public keys; the first seals',
    );
  });

  test('a worker still opens tokens sealed the old ways, and re-seals them to the newest key; then the old keys can go', () => {
    const worker = new TokenSealer(loadConfig(workerEnv, { role: 'worker' }).tokenSealing);
    const underOld = new TokenSealBox(
      loadConfig({ ...prod, TOKEN_SEALING_PUBLIC_KEYS: `old:${OLD.publicKey}` }, { role: 'api' }).tokenSealing.publicKeys,
    ).seal('refresh-A');
    const legacy = legacySealed('refresh-B');
    assert.equal(worker.open(underOld), 'refresh-A');
    assert.equal(worker.open(legacy), 'refresh-B');
    const resealed = [worker.reseal(underOld), worker.reseal(legacy)];
    for (const s of resealed) assert.match(s, /^sealed:v2:new:/);
    assert.equal(worker.reseal(resealed[0]!), resealed[0], 'already under the newest key: unchanged');
    const retired = new TokenSealer(loadConfig({ ...prod, TOKEN_SEALING_PRIVATE_KEYS: `new:${NEW.privateKey}` }).tokenSealing);
    assert.deepEqual(
      resealed.map((s) => retired.open(s)),
      ['refresh-A', 'refresh-B'],
    );
    assert.throws(() => retired.open(underOld), TokenNotOpenable);
    assert.throws(() => retired.open(legacy), TokenNotOpenable);
  });

  test('a tampered box or one relabelled with another key id does not open', () => {
    const worker = new TokenSealer(loadConfig(workerEnv).tokenSealing);
    const sealed = worker.seal('secret');
    const body = Buffer.from(sealed.slice('sealed:v2:new:'.length), 'base64url');
    body.writeUInt8(body.readUInt8(body.length - 20) ^ 1, body.length - 20);
    assert.throws(() => worker.open(`sealed:v2:new:${body.toString('base64url')}`), /failed authentication/);
    assert.throws(() => worker.open(sealed.replace('sealed:v2:new:', 'sealed:v2:old:')), /failed authentication/);
  });
});
