import fs from 'node:fs';
import type { EfacturaOptions } from './efactura/options';
import { DEFAULT_CLIENT, type OAuthClientRegistration, type OAuthOptions } from './oauth/options';

/**
 * `npm run sandbox` configuration from the environment. The sandbox also registers the
 * OAuth clients the app itself is configured with (ANAF_CLIENT_ID/SECRET/REDIRECT_URI,
 * ANAF_OAUTH_CLIENTS, API_PORT), so `npm run dev` works whatever ports and credential
 * sets the developer chose, without configuring the two sides twice.
 *
 * e-Factura: SANDBOX_EFACTURA_PROCESSING_MS (until stareMesaj leaves "in prelucrare"),
 * SANDBOX_EFACTURA_LISTING_DELAY_MS (until a message is listed), SANDBOX_EFACTURA_RECEIVED_EVERY_MS
 * (a made-up received invoice per known CIF this often; 0 = off), SANDBOX_EFACTURA_KNOWN_CIFS
 * (comma list, "RO" allowed), SANDBOX_EFACTURA_LIST_PAGE_SIZE.
 */

type Env = Record<string, string | undefined>;

export interface SandboxEnvOptions {
  port: number;
  host: string;
  seed?: number;
  oauth: Partial<OAuthOptions>;
  /** Only the e-Factura options the environment sets; the rest keep their defaults. */
  efactura?: Partial<EfacturaOptions>;
}

const read = (env: Env, name: string): string | undefined => {
  const v = env[name]?.trim();
  return v ? v : undefined;
};

function positiveInt(env: Env, name: string, max: number): number | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${name} must be an integer between 0 and ${max}, got "${raw}"`);
  return n;
}

function addClient(clients: OAuthClientRegistration[], clientId: string, clientSecret: string, redirectUris: string[]): void {
  const existing = clients.find((c) => c.clientId === clientId);
  if (!existing) {
    clients.push({ clientId, clientSecret, redirectUris: [...new Set(redirectUris)] });
    return;
  }
  if (existing.clientSecret !== clientSecret) throw new Error(`client ${clientId} is configured twice with different secrets`);
  for (const uri of redirectUris) if (!existing.redirectUris.includes(uri)) existing.redirectUris.push(uri);
}

function clientsFromEnv(env: Env): OAuthClientRegistration[] {
  const clients: OAuthClientRegistration[] = [{ ...DEFAULT_CLIENT, redirectUris: [...DEFAULT_CLIENT.redirectUris] }];
  const apiPort = positiveInt(env, 'API_PORT', 65535) ?? 8080;
  const mainId = read(env, 'ANAF_CLIENT_ID') ?? DEFAULT_CLIENT.clientId;
  const mainSecret = read(env, 'ANAF_CLIENT_SECRET') ?? DEFAULT_CLIENT.clientSecret;
  const mainRedirect = read(env, 'ANAF_REDIRECT_URI') ?? `http://localhost:${apiPort}/oauth/callback`;
  addClient(clients, mainId, mainSecret, [mainRedirect, `http://127.0.0.1:${apiPort}/oauth/callback`]);

  const extra = read(env, 'ANAF_OAUTH_CLIENTS');
  if (extra) {
    let sets: unknown;
    try {
      sets = JSON.parse(extra);
    } catch {
      throw new Error('ANAF_OAUTH_CLIENTS must be a JSON array of {clientId, clientSecret, redirectUri}');
    }
    if (!Array.isArray(sets)) throw new Error('ANAF_OAUTH_CLIENTS must be a JSON array');
    for (const s of sets as Array<Record<string, unknown>>) {
      if (typeof s?.clientId === 'string' && typeof s.clientSecret === 'string' && typeof s.redirectUri === 'string') {
        addClient(clients, s.clientId, s.clientSecret, [s.redirectUri]);
      }
    }
  }
  return clients;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

function efacturaFromEnv(env: Env): Partial<EfacturaOptions> | undefined {
  const o: Partial<EfacturaOptions> = {};
  const processingDelayMs = positiveInt(env, 'SANDBOX_EFACTURA_PROCESSING_MS', WEEK_MS);
  const listingDelayMs = positiveInt(env, 'SANDBOX_EFACTURA_LISTING_DELAY_MS', WEEK_MS);
  const receivedEveryMs = positiveInt(env, 'SANDBOX_EFACTURA_RECEIVED_EVERY_MS', WEEK_MS);
  const listPageSize = positiveInt(env, 'SANDBOX_EFACTURA_LIST_PAGE_SIZE', 10_000);
  if (processingDelayMs !== undefined) o.processingDelayMs = processingDelayMs;
  if (listingDelayMs !== undefined) o.listingDelayMs = listingDelayMs;
  if (receivedEveryMs !== undefined) o.receivedEveryMs = receivedEveryMs;
  if (listPageSize !== undefined) {
    if (listPageSize < 1) throw new Error('SANDBOX_EFACTURA_LIST_PAGE_SIZE must be at least 1');
    o.listPageSize = listPageSize;
  }
  const cifs = read(env, 'SANDBOX_EFACTURA_KNOWN_CIFS');
  if (cifs !== undefined) {
    o.knownCifs = cifs
      .split(',')
      .map((c) =>
        c
          .trim()
          .toUpperCase()
          .replace(/^RO\s*/, ''),
      )
      .filter((c) => c !== '');
    const bad = o.knownCifs.filter((c) => !/^[0-9]{1,13}$/.test(c));
    if (bad.length)
      throw new Error(
        `SANDBOX_EFACTURA_KNOWN_CIFS must be a comma-separated list of CIFs, got ${bad.map((c) => JSON.stringify(c)).join(', ')}`,
      );
  }
  return Object.keys(o).length ? o : undefined;
}

export function sandboxOptionsFromEnv(env: Env = process.env): SandboxEnvOptions {
  const accessTtl = positiveInt(env, 'SANDBOX_ACCESS_TOKEN_TTL', 10 * 365 * 86400);
  const refreshTtl = positiveInt(env, 'SANDBOX_REFRESH_TOKEN_TTL', 10 * 365 * 86400);
  const keyFile = read(env, 'SANDBOX_OAUTH_SIGNING_KEY_FILE');
  const seed = positiveInt(env, 'SANDBOX_SEED', 0xffffffff);
  const oauth: Partial<OAuthOptions> = { clients: clientsFromEnv(env) };
  if (accessTtl) oauth.accessTokenTtlSeconds = accessTtl;
  if (refreshTtl) oauth.refreshTokenTtlSeconds = refreshTtl;
  if (keyFile) oauth.signingKeyPem = fs.readFileSync(keyFile, 'utf8');
  const efactura = efacturaFromEnv(env);
  return {
    port: positiveInt(env, 'SANDBOX_PORT', 65535) ?? 9400,
    host: read(env, 'SANDBOX_HOST') ?? '127.0.0.1',
    ...(seed !== undefined ? { seed } : {}),
    oauth,
    ...(efactura ? { efactura } : {}),
  };
}
