import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TENANT_PATTERN } from '../temporal/workflow-ids';

/**
 * One webhook secret per tenant, so no tenant can sign another's deliveries. Each is derived
 * (HKDF-SHA256) from the master WEBHOOK_SECRET, the tenant and a generation number: nothing
 * secret is stored, only which generation is current and when the previous one stops being
 * used (DATA_DIR/webhook-secrets/<tenant>.json, shared by API and workers like the blobs).
 * A tenant sees its secret once, when it rotates it; during the overlap window deliveries
 * carry a signature with the previous secret too.
 */

export interface WebhookSecretState {
  generation: number;
  /** undefined for generation 1 before the tenant ever asked for it (it signs from the start). */
  createdAt?: string;
  previous?: { generation: number; validUntil: string };
}

export interface WebhookSigningKey {
  id: string;
  secret: string;
}

export class WebhookSecretStore {
  private readonly dir: string;

  constructor(
    dataDir: string,
    private readonly master: string,
    private readonly overlapMs: number,
  ) {
    this.dir = path.join(dataDir, 'webhook-secrets');
  }

  static keyId(tenant: string, generation: number): string {
    return `${tenant}.${generation}`;
  }

  /** The secret of one generation; deterministic, so two racing rotations hand out the same one. */
  secretFor(tenant: string, generation: number): string {
    const okm = hkdfSync('sha256', this.master, 'anaf-flow webhook secret v1', `${tenant}/${generation}`, 32);
    return `whsec_${Buffer.from(okm).toString('base64url')}`;
  }

  state(tenant: string): WebhookSecretState {
    try {
      return JSON.parse(fs.readFileSync(this.file(tenant), 'utf8')) as WebhookSecretState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { generation: 1 };
      throw err;
    }
  }

  /** The secrets a delivery is signed with: the current one first, the previous one during the overlap. */
  signingKeys(tenant: string, now = Date.now()): WebhookSigningKey[] {
    const state = this.state(tenant);
    const keys = [{ id: WebhookSecretStore.keyId(tenant, state.generation), secret: this.secretFor(tenant, state.generation) }];
    if (state.previous && Date.parse(state.previous.validUntil) > now) {
      keys.push({
        id: WebhookSecretStore.keyId(tenant, state.previous.generation),
        secret: this.secretFor(tenant, state.previous.generation),
      });
    }
    return keys;
  }

  /**
   * The first call issues generation 1 (already signing, never shown before); every later
   * one moves to the next generation and keeps the previous for the overlap window.
   */
  rotate(tenant: string, now = Date.now()): { state: WebhookSecretState; secret: string } {
    const before = this.state(tenant);
    const neverShown = before.createdAt === undefined;
    const state: WebhookSecretState = neverShown
      ? { generation: before.generation, createdAt: new Date(now).toISOString() }
      : {
          generation: before.generation + 1,
          createdAt: new Date(now).toISOString(),
          previous: { generation: before.generation, validUntil: new Date(now + this.overlapMs).toISOString() },
        };
    this.write(tenant, state);
    return { state, secret: this.secretFor(tenant, state.generation) };
  }

  private file(tenant: string): string {
    // The tenant names a file: only what API_KEYS allows as a tenant gets this far.
    if (!TENANT_PATTERN.test(tenant)) throw new Error('invalid tenant');
    return path.join(this.dir, `${tenant}.json`);
  }

  private write(tenant: string, state: WebhookSecretState): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(tenant)}.${randomBytes(6).toString('hex')}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    fs.renameSync(tmp, this.file(tenant));
  }
}

/**
 * `x-anaf-flow-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">[,v1=…]`: one
 * v1 per secret in `keys` (current first). A receiver accepts the delivery when any v1 matches
 * its secret, and rejects old timestamps.
 */
export function signWebhook(keys: Array<Pick<WebhookSigningKey, 'secret'>> | string, body: string, timestamp: number): string {
  const secrets = typeof keys === 'string' ? [keys] : keys.map((k) => k.secret);
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${createHmac('sha256', s).update(`${timestamp}.${body}`).digest('hex')}`)].join(',');
}
