import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { type AppConfig, loadConfig } from '../lib/config/config';

/** Fixed keys so every helper in one test process encrypts and authenticates alike. */
export const TEST_PAYLOAD_KEYS = `test-1:${Buffer.alloc(32, 7).toString('base64')}`;
export const TEST_TOKEN_KEYS = `tok-1:${Buffer.alloc(32, 9).toString('base64')}`;
export const TEST_WEBHOOK_SECRET = 'test-webhook-secret-0123456789';
export const TEST_API_KEYS = 'acme:acme-key-0123456789abcdef,globex:globex-key-0123456789abcdef,acme:acme-read-key-0123456789abcdef:read';
export const TENANT_A = { tenant: 'acme', key: 'acme-key-0123456789abcdef' };
export const TENANT_B = { tenant: 'globex', key: 'globex-key-0123456789abcdef' };
/** Tenant A's read-only key (API_KEYS role `read`). */
export const TENANT_A_READ = { tenant: 'acme', key: 'acme-read-key-0123456789abcdef' };
/** The operator (OPERATOR_API_KEYS): the codec and resolve, nothing a tenant does. */
export const OPERATOR = { name: 'ops', key: 'ops-operator-key-0123456789abcdef' };
export const TEST_OPERATOR_KEYS = `${OPERATOR.name}:${OPERATOR.key}`;

/** Polls and listing delays in seconds, not minutes, so lifecycles end quickly against the sandbox. */
export const FAST_LIFECYCLE_ENV: Record<string, string> = {
  EFACTURA_FIRST_POLL_SECONDS: '0.2',
  EFACTURA_MAX_POLL_INTERVAL_SECONDS: '1',
  EFACTURA_LISTING_DELAY_SECONDS: '3',
  ETRANSPORT_FIRST_POLL_SECONDS: '0.2',
  ETRANSPORT_MAX_POLL_INTERVAL_SECONDS: '1',
  ETRANSPORT_LISTING_DELAY_SECONDS: '3',
};

export function testConfig(overrides: Record<string, string> = {}): AppConfig {
  return loadConfig(
    {
      ANAF_ENV: 'sandbox',
      DATA_DIR: path.join(os.tmpdir(), `anaf-flow-test-${process.pid}-${randomBytes(4).toString('hex')}`),
      PAYLOAD_ENCRYPTION_KEYS: TEST_PAYLOAD_KEYS,
      TOKEN_ENCRYPTION_KEYS: TEST_TOKEN_KEYS,
      WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      ...FAST_LIFECYCLE_ENV,
      API_KEYS: TEST_API_KEYS,
      OPERATOR_API_KEYS: TEST_OPERATOR_KEYS,
      LOG_LEVEL: 'silent',
      // Every test's browser is 127.0.0.1: the per-IP limit of the public OAuth routes would meet
      // the suite itself. A test of the limit sets its own.
      OAUTH_BROWSER_RATE_BURST: '10000',
      OAUTH_BROWSER_RATE_PER_MINUTE: '10000',
      ...overrides,
    },
    { generateDevSecrets: false },
  );
}
