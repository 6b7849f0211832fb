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
  apiKeys: string;
}

export function loadOrCreateDevSecrets(dataDir: string): DevSecrets {
  const file = path.join(dataDir, 'dev-secrets.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DevSecrets;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const secrets: DevSecrets = {
    payloadEncryptionKeys: `dev-${Date.now().toString(36)}:${randomBytes(32).toString('base64')}`,
    apiKeys: `dev:dev_${randomBytes(24).toString('base64url')}`,
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
