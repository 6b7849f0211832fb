import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../lib/config/config';
import { temporalConnectionOptions } from '../../lib/temporal/temporal-client';

const KEY = Buffer.alloc(32, 1).toString('base64');
const base = { PAYLOAD_ENCRYPTION_KEYS: `k1:${KEY}`, TOKEN_ENCRYPTION_KEYS: `t1:${KEY}`, API_KEYS: 'acme:0123456789abcdef0123' };

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-tls-config-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
const cert = file('client.pem', 'CERT');
const key = file('client.key', 'KEY');
const ca = file('ca.pem', 'CA');

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env }, { generateDevSecrets: false });
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe('Temporal TLS and API key configuration', () => {
  test('none set: plaintext, no API key (the dev server)', () => {
    const c = loadConfig(base, { generateDevSecrets: false });
    assert.equal(c.temporal.tls, undefined);
    assert.equal(c.temporal.apiKey, undefined);
    assert.deepEqual(temporalConnectionOptions(c), { address: '127.0.0.1:7233' });
  });

  test('mTLS: certificate, key, CA and server name become the connection options', () => {
    const c = loadConfig(
      {
        ...base,
        TEMPORAL_ADDRESS: '127.0.0.1:7233',
        TEMPORAL_TLS_CERT: cert,
        TEMPORAL_TLS_KEY: key,
        TEMPORAL_TLS_CA: ca,
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      },
      { generateDevSecrets: false },
    );
    assert.deepEqual(c.temporal.tls, { clientCert: cert, clientKey: key, ca, serverName: 'temporal.internal' });
    const o = temporalConnectionOptions(c);
    assert.equal(o.address, '127.0.0.1:7233');
    assert.equal(o.apiKey, undefined);
    assert.ok(o.tls && typeof o.tls === 'object');
    assert.equal(o.tls.serverNameOverride, 'temporal.internal');
    assert.equal(Buffer.from(o.tls.serverRootCACertificate!).toString(), 'CA');
    assert.equal(Buffer.from(o.tls.clientCertPair!.crt).toString(), 'CERT');
    assert.equal(Buffer.from(o.tls.clientCertPair!.key).toString(), 'KEY');
  });

  test('an API key alone turns TLS on with the system roots (Temporal Cloud)', () => {
    const c = loadConfig(
      { ...base, TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'eyJhbGciOi.secret-key' },
      { generateDevSecrets: false },
    );
    assert.equal(c.temporal.apiKey, 'eyJhbGciOi.secret-key');
    assert.deepEqual(temporalConnectionOptions(c), { address: 'ns.acct.tmprl.cloud:7233', tls: {}, apiKey: 'eyJhbGciOi.secret-key' });
  });

  test('relative paths are resolved; a CA alone is server-verified TLS without a client certificate', () => {
    const c = loadConfig({ ...base, TEMPORAL_TLS_CA: path.relative(process.cwd(), ca) }, { generateDevSecrets: false });
    assert.deepEqual(c.temporal.tls, { clientCert: undefined, clientKey: undefined, ca, serverName: undefined });
  });

  test('errors name the variable and say what is wrong', () => {
    let e = configError({ TEMPORAL_TLS_CERT: cert });
    assert.equal(e.variable, 'TEMPORAL_TLS_KEY');
    assert.match(e.message, /go together/);
    e = configError({ TEMPORAL_TLS_KEY: key });
    assert.equal(e.variable, 'TEMPORAL_TLS_CERT');
    e = configError({ TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') });
    assert.equal(e.variable, 'TEMPORAL_TLS_CA');
    assert.match(e.message, /no such file: .*missing\.pem/);
    e = configError({ TEMPORAL_TLS_CERT: dir, TEMPORAL_TLS_KEY: key });
    assert.equal(e.variable, 'TEMPORAL_TLS_CERT');
    assert.match(e.message, /not a file/);
    e = configError({ TEMPORAL_TLS_SERVER_NAME: 'https://temporal' });
    assert.equal(e.variable, 'TEMPORAL_TLS_SERVER_NAME');
    e = configError({ TEMPORAL_API_KEY: 'has a space' });
    assert.equal(e.variable, 'TEMPORAL_API_KEY');
    assert.doesNotMatch(e.message, /has a space/, 'the key is never echoed');
  });
});
