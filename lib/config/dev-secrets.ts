import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Secrets for ANAF_ENV=sandbox when none are configured. They are written once under
 * DATA_DIR so that a restart of the dev stack can still decrypt the workflows it left
 * in Temporal's SQLite file and the printed API key keeps working.
 */
export interface DevSecrets {
  payloadEncryptionKeys: string;
  tokenEncryptionKeys: string;
  apiKeys: string;
  /** OPERATOR_API_KEYS for the dev stack: the Web UI's codec and `anaf-flow resolve`. */
  operatorApiKeys: string;
  webhookSecret: string;
}

const newOperatorKeys = () => `dev-operator:op_${randomBytes(24).toString('base64url')}`;

function newKey(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}:${randomBytes(32).toString('base64')}`;
}

export function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, 'dev-secrets.json');
  try {
    const existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    if (
      existing.payloadEncryptionKeys &&
      existing.apiKeys &&
      existing.tokenEncryptionKeys &&
      existing.webhookSecret &&
      existing.operatorApiKeys
    ) {
      return existing as DevSecrets;
    }
    // A file from an older version: keep what it has, add what is missing.
    const completed: DevSecrets = {
      payloadEncryptionKeys: existing.payloadEncryptionKeys ?? newKey('dev'),
      tokenEncryptionKeys: existing.tokenEncryptionKeys ?? newKey('tok'),
      apiKeys: existing.apiKeys ?? `dev:dev_${randomBytes(24).toString('base64url')}`,
      webhookSecret: existing.webhookSecret ?? randomBytes(32).toString('base64url'),
      operatorApiKeys: existing.operatorApiKeys ?? newOperatorKeys(),
    };
    fs.writeFileSync(file, JSON.stringify(completed, null, 2), { mode: 0o600 });
    return completed;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secrets: DevSecrets = {
    payloadEncryptionKeys: newKey('dev'),
    tokenEncryptionKeys: newKey('tok'),
    webhookSecret: randomBytes(32).toString('base64url'),
    apiKeys: `dev:dev_${randomBytes(24).toString('base64url')}`,
    operatorApiKeys: newOperatorKeys(),
  };
  fs.mkdirSync(dataDir, { recursive: true });
  // wx: two processes starting at once must not each write a different key.
  try {
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(fs.readFileSync(file, 'utf8')) as DevSecrets;
    throw err;
  }
  return secrets;
}
