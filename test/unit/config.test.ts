import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../lib/config/config';

const KEY = Buffer.alloc(32, 1).toString('base64');
const base = {
  PAYLOAD_ENCRYPTION_KEYS: `k1:${KEY}`,
  TOKEN_ENCRYPTION_KEYS: `t1:${KEY}`,
  TOKEN_SEALING_PRIVATE_KEYS: `s1:${Buffer.alloc(32, 2).toString('base64')}`,
  API_KEYS: 'acme:0123456789abcdef0123',
};

function expectConfigError(env: Record<string, string>, variable: string, pattern?: RegExp) {
  assert.throws(
    () => loadConfig(env, { generateDevSecrets: false }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
      assert.equal(err.variable, variable);
      assert.match(err.message, new RegExp(variable));
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('configuration', () => {
  test('sandbox defaults point at the local sandbox', () => {
    const c = loadConfig(base, { generateDevSecrets: false });
    assert.equal(c.anaf.env, 'sandbox');
    assert.equal(c.anaf.oauthBaseUrl, 'http://127.0.0.1:9400/anaf-oauth2/v1');
    assert.equal(c.anaf.apiBaseUrl, 'http://127.0.0.1:9400/test');
    assert.equal(c.anaf.banciwsBaseUrl, 'https://127.0.0.1:9443/BANCIWS/rest');
    assert.equal(c.temporal.address, undefined);
    assert.equal(c.temporal.taskQueue, 'anaf-flow');
    assert.equal(c.temporal.anafTaskQueue, 'anaf-flow-anaf-calls');
    assert.equal(c.api.port, 8080);
  });

  test('test and prod defaults point at ANAF with the environment in the path', () => {
    const t = loadConfig({ ...base, ANAF_ENV: 'test' });
    assert.equal(t.anaf.apiBaseUrl, 'https://api.anaf.ro/test');
    assert.equal(t.anaf.oauthBaseUrl, 'https://logincert.anaf.ro/anaf-oauth2/v1');
    assert.equal(t.anaf.banciwsBaseUrl, 'https://financiart.anaf.ro/BANCIWS/rest');
    const p = loadConfig({ ...base, ANAF_ENV: 'prod', ANAF_API_BASE_URL: 'https://proxy.example/prod/' });
    assert.equal(p.anaf.apiBaseUrl, 'https://proxy.example/prod', 'explicit URL wins, trailing slash trimmed');
  });

  test('bad values name the variable', () => {
    expectConfigError({ ...base, ANAF_ENV: 'staging' }, 'ANAF_ENV');
    expectConfigError({ ...base, API_PORT: 'eighty' }, 'API_PORT');
    expectConfigError({ ...base, API_PORT: '70000' }, 'API_PORT');
    expectConfigError({ ...base, TEMPORAL_ADDRESS: 'http://x:7233' }, 'TEMPORAL_ADDRESS', /host:port/);
    expectConfigError({ ...base, ANAF_API_BASE_URL: 'not a url' }, 'ANAF_API_BASE_URL');
    expectConfigError({ ...base, TEMPORAL_TASK_QUEUE: 'has space' }, 'TEMPORAL_TASK_QUEUE');
    expectConfigError({ ...base, PAYLOAD_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }, 'PAYLOAD_ENCRYPTION_KEYS', /32 bytes/);
    expectConfigError({ ...base, PAYLOAD_ENCRYPTION_KEYS: `k1:${KEY},k1:${KEY}` }, 'PAYLOAD_ENCRYPTION_KEYS', /duplicate/);
    expectConfigError({ ...base, API_KEYS: 'acme' }, 'API_KEYS', /tenant:key/);
    expectConfigError({ ...base, API_KEYS: 'ACME:0123456789abcdef0123' }, 'API_KEYS', /lowercase/);
    expectConfigError({ ...base, API_KEYS: 'acme:short' }, 'API_KEYS', /16/);
    expectConfigError({ ...base, BANCIWS_CLIENT_CERT: '/c.pem' }, 'BANCIWS_CLIENT_KEY');
    expectConfigError({ ...base, BANCIWS_PFX: '/c.pfx', BANCIWS_CLIENT_CERT: '/c.pem', BANCIWS_CLIENT_KEY: '/k.pem' }, 'BANCIWS_PFX');
    expectConfigError({ ...base, LOG_LEVEL: 'loud' }, 'LOG_LEVEL');
  });

  test('outside the sandbox, secrets are required, never generated', () => {
    expectConfigError({ ...base, ANAF_ENV: 'prod', PAYLOAD_ENCRYPTION_KEYS: '' }, 'PAYLOAD_ENCRYPTION_KEYS', /required/);
    expectConfigError({ ...base, ANAF_ENV: 'prod', TOKEN_SEALING_PRIVATE_KEYS: '' }, 'TOKEN_SEALING_PRIVATE_KEYS', /required/);
    expectConfigError({ ...base, ANAF_ENV: 'test', API_KEYS: '' }, 'API_KEYS', /required/);
  });

  test('sandbox mode generates dev secrets once and keeps them across restarts', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-flow-config-'));
    const first = loadConfig({ DATA_DIR: dataDir });
    const second = loadConfig({ DATA_DIR: dataDir });
    assert.equal(first.api.keysGenerated, true);
    assert.deepEqual(second.api.keys, first.api.keys);
    // npm run dev prints a generated operator key too (the Web UI's codec, resolve), kept like the tenant key.
    assert.equal(first.api.operatorKeys.length, 1);
    assert.deepEqual(second.api.operatorKeys, first.api.operatorKeys);
    assert.notEqual(first.api.operatorKeys[0]!.key, first.api.keys[0]!.key);
    assert.equal(second.payloadKeys[0]!.key.toString('hex'), first.payloadKeys[0]!.key.toString('hex'));
    const mode = fs.statSync(path.join(dataDir, 'dev-secrets.json')).mode & 0o777;
    assert.equal(mode, 0o600, 'dev secrets are readable by the owner only');
  });

  test('the ANAF call budget is configured per minute and applied per second', () => {
    const c = loadConfig({ ...base, ANAF_CALLS_PER_MINUTE: '600' }, { generateDevSecrets: false });
    assert.equal(c.temporal.anafCallsPerSecond, 10);
  });

  test('API_KEYS: tenant:key[:role], role submit by default or read; anything else names the variable', () => {
    const c = loadConfig(
      { ...base, API_KEYS: 'acme:0123456789abcdef0123,acme:read-0123456789abcdef:read,beta:beta-0123456789abcdef:submit' },
      { generateDevSecrets: false },
    );
    assert.deepEqual(
      c.api.keys.map((k) => [k.tenant, k.role]),
      [
        ['acme', 'submit'],
        ['acme', 'read'],
        ['beta', 'submit'],
      ],
    );
    expectConfigError({ ...base, API_KEYS: 'acme:0123456789abcdef0123:admin' }, 'API_KEYS', /role "admin".*submit, read/);
    expectConfigError({ ...base, API_KEYS: 'acme:0123456789abcdef0123:read:x' }, 'API_KEYS', /tenant:key:role/);
    expectConfigError({ ...base, API_KEYS: 'acme::read' }, 'API_KEYS', /tenant:key/);
  });

  test('OPERATOR_API_KEYS: name:key, none by default outside generated dev secrets; short, malformed or tenant-shared keys refused', () => {
    assert.deepEqual(loadConfig(base, { generateDevSecrets: false }).api.operatorKeys, []);
    const c = loadConfig(
      { ...base, OPERATOR_API_KEYS: 'alice:alice-operator-key-0123456789, bob:bob-operator-key-0123456789ab' },
      { generateDevSecrets: false },
    );
    assert.deepEqual(
      c.api.operatorKeys.map((k) => k.name),
      ['alice', 'bob'],
    );
    expectConfigError({ ...base, OPERATOR_API_KEYS: 'alice' }, 'OPERATOR_API_KEYS', /name:key/);
    expectConfigError({ ...base, OPERATOR_API_KEYS: 'alice:short-key' }, 'OPERATOR_API_KEYS', /24/);
    expectConfigError({ ...base, OPERATOR_API_KEYS: 'Alice:alice-operator-key-0123456789' }, 'OPERATOR_API_KEYS', /lowercase/);
    expectConfigError(
      { ...base, API_KEYS: 'acme:shared-key-0123456789abcdef', OPERATOR_API_KEYS: 'alice:shared-key-0123456789abcdef' },
      'OPERATOR_API_KEYS',
      /tenant's key/,
    );
  });

  test('TEMPORAL_RPC_TIMEOUT_MS: 5000 by default, 100 ms to 2 minutes', () => {
    assert.equal(loadConfig(base, { generateDevSecrets: false }).api.temporalRpcTimeoutMs, 5000);
    assert.equal(loadConfig({ ...base, TEMPORAL_RPC_TIMEOUT_MS: '1500' }, { generateDevSecrets: false }).api.temporalRpcTimeoutMs, 1500);
    expectConfigError({ ...base, TEMPORAL_RPC_TIMEOUT_MS: '50' }, 'TEMPORAL_RPC_TIMEOUT_MS');
    expectConfigError({ ...base, TEMPORAL_RPC_TIMEOUT_MS: 'soon' }, 'TEMPORAL_RPC_TIMEOUT_MS');
  });

  test('XML_PARSE_*: caps of the threads that parse untrusted XML, with defaults, each bad value naming its variable', () => {
    assert.deepEqual(loadConfig(base, { generateDevSecrets: false }).xmlParsing, {
      threads: 2,
      perTenant: 8,
      maxPending: 32,
      timeoutMs: 10_000,
      memoryMb: 256,
    });
    const set = loadConfig(
      {
        ...base,
        XML_PARSE_THREADS: '4',
        XML_PARSE_MAX_PER_TENANT: '3',
        XML_PARSE_MAX_PENDING: '20',
        XML_PARSE_TIMEOUT_MS: '2500',
        XML_PARSE_MEMORY_MB: '128',
      },
      { generateDevSecrets: false },
    );
    assert.deepEqual(set.xmlParsing, { threads: 4, perTenant: 3, maxPending: 20, timeoutMs: 2500, memoryMb: 128 });
    expectConfigError({ ...base, XML_PARSE_THREADS: '0' }, 'XML_PARSE_THREADS');
    expectConfigError({ ...base, XML_PARSE_MAX_PER_TENANT: 'two' }, 'XML_PARSE_MAX_PER_TENANT');
    expectConfigError({ ...base, XML_PARSE_MAX_PENDING: '1.5' }, 'XML_PARSE_MAX_PENDING');
    expectConfigError({ ...base, XML_PARSE_TIMEOUT_MS: '50' }, 'XML_PARSE_TIMEOUT_MS');
    expectConfigError({ ...base, XML_PARSE_MEMORY_MB: '16' }, 'XML_PARSE_MEMORY_MB');
  });

  test('WORKER_METRICS_HOST: loopback by default, an address when set', () => {
    assert.equal(loadConfig(base, { generateDevSecrets: false }).metrics.workerHost, '127.0.0.1');
    assert.equal(loadConfig({ ...base, WORKER_METRICS_HOST: '0.0.0.0' }, { generateDevSecrets: false }).metrics.workerHost, '0.0.0.0');
    expectConfigError({ ...base, WORKER_METRICS_HOST: 'http://x' }, 'WORKER_METRICS_HOST', /IP address/);
  });
});
