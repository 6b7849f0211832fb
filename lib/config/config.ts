import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { anafTaskQueueFor, banciwsTaskQueueFor } from '../temporal/task-queues';
import { ANAF_PUBLISHED_DAILY_QUOTAS, type DailyQuotaLimits } from '../anaf/anaf-daily-quotas';
import { type BanciwsInstitution, parseBanciwsInstitutions } from './banciws-config';
import { loadOrCreateDevSecrets } from './dev-secrets';
import { sandboxSealingKeyFrom } from '../crypto/token-seal';
import {
  checkKeyPairsMatch,
  parseKeyList,
  parseSealingPrivateKeys,
  parseSealingPublicKeys,
  type ProcessRole,
  sealOnlyKeys,
  type TokenSealingKeys,
} from '../crypto/token-sealing-keys';
import type { PayloadKey } from '../crypto/aes-gcm';

export type { PayloadKey };

/**
 * The one typed configuration of anaf-flow. Every process (worker, API, dev launcher,
 * CLI) reads it through `loadConfig`, so a bad value stops start-up with a message
 * naming the variable instead of failing later on the first ANAF call.
 */

export const ANAF_ENVS = ['sandbox', 'test', 'prod'] as const;
export type AnafEnv = (typeof ANAF_ENVS)[number];

/** What a tenant key may do: `submit` (start work and read it back) or `read` (read only). */
export const TENANT_ROLES = ['submit', 'read'] as const;
export type TenantRole = (typeof TENANT_ROLES)[number];

export interface ApiKey {
  tenant: string;
  key: string;
  role: TenantRole;
}

/** An operator's key (OPERATOR_API_KEYS): the codec and the operator routes (resolve), for every tenant; nothing else. */
export interface OperatorKey {
  name: string;
  key: string;
}

export const OAUTH_SCOPES = ['EFACTURA', 'ETRANSPORT'] as const;
export type OAuthScope = (typeof OAUTH_SCOPES)[number];

/** One ANAF OAuth application registration: client id, secret and its callback URL. */
export interface OAuthCredentialSet {
  id: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  scopes: OAuthScope[];
}

/** TLS to the Temporal frontend: PEM file paths, read when a connection is made. */
export interface TemporalTlsConfig {
  /** Client certificate and key for mTLS (both or neither). */
  clientCert: string | undefined;
  clientKey: string | undefined;
  /** CA that signed the frontend's certificate; undefined: the system's roots (Temporal Cloud). */
  ca: string | undefined;
  /** Name the frontend's certificate must carry, when it differs from the address's host. */
  serverName: string | undefined;
}

export interface AppConfig {
  temporal: {
    /** undefined → the dev launcher starts its own dev server. */
    address: string | undefined;
    /** undefined: plaintext (dev server); set by any TEMPORAL_TLS_* variable or TEMPORAL_API_KEY. */
    tls: TemporalTlsConfig | undefined;
    /** Sent as a bearer token on every Temporal call (Temporal Cloud API keys); implies TLS. */
    apiKey: string | undefined;
    namespace: string;
    taskQueue: string;
    /** Activities that call ANAF run here, under one rate budget shared by all workers. */
    anafTaskQueue: string;
    anafCallsPerSecond: number;
    /** financiart.anaf.ro (BANCIWS) has its own host, hence its own budget and queue. */
    banciwsTaskQueue: string;
    banciwsCallsPerSecond: number;
    /** Workflows kept in the worker's memory between tasks; most of ours sleep for minutes to days. */
    maxCachedWorkflows: number;
    /** A worker that stops polling its workflow queue while work waits there this long exits to be restarted; 0: never. */
    stallExitMs: number;
  };
  anaf: {
    env: AnafEnv;
    oauthBaseUrl: string;
    apiBaseUrl: string;
    banciwsBaseUrl: string;
    clientId: string | undefined;
    clientSecret: string | undefined;
    redirectUri: string | undefined;
  };
  oauth: {
    /** The main set (from ANAF_CLIENT_*) first, then ANAF_OAUTH_CLIENTS. */
    credentialSets: OAuthCredentialSet[];
    refreshLeadMs: number;
    warnBeforeRefreshExpiryMs: number;
    /** Days before the refresh token lapses when authorization.refresh_lapsing is pushed: OAUTH_REFRESH_LAPSING_WARN_DAYS, 7 and 1. */
    lapsingWarnDays?: number[];
    requestTtlMs: number;
    /** OAUTH_BROWSER_RATE_BURST / _PER_MINUTE: what one IP may ask of the public /oauth/go and /oauth/callback. */
    browserRateLimit: { burst: number; perMinute: number };
  };
  banciws: {
    clientCert: string | undefined;
    clientKey: string | undefined;
    pfx: string | undefined;
    passphrase: string | undefined;
    ca: string | undefined;
    /** BANCIWS_INSTITUTIONS: who we act for, with inbox polls. */
    institutions: BanciwsInstitution[];
    /** First stareMesaj this long after the upload, then backing off up to the cap. */
    firstPollDelayMs: number;
    maxPollIntervalMs: number;
    /** How long a receipt may take to show in listaMesaje; a lost upload is re-sent only after this. */
    listingDelayMs: number;
    /** BANCIWS_TLS_MAX_VERSION: the F5 asks for the certificate by TLS 1.2 renegotiation, which TLS 1.3 does not have. */
    tlsMaxVersion?: 'TLSv1.2' | 'TLSv1.3';
  };
  /** First key encrypts; every key decrypts (rotation). */
  payloadKeys: PayloadKey[];
  /**
   * Seals OAuth tokens inside workflow state (lib/crypto/token-seal.ts). Separate from the payload
   * keys on purpose: an operator who decodes payloads in the Web UI still sees only sealed
   * tokens. The API process gets the public keys only.
   */
  tokenSealing: TokenSealingKeys;
  api: {
    port: number;
    keys: ApiKey[];
    /** OPERATOR_API_KEYS: the only keys /codec/* and the operator routes accept. */
    operatorKeys: OperatorKey[];
    /** Deadline of each Temporal call the API makes (TEMPORAL_RPC_TIMEOUT_MS); past it the route answers 503 TEMPORAL_UNAVAILABLE. */
    temporalRpcTimeoutMs: number;
    /** true when the keys were generated for local development, not configured. */
    keysGenerated: boolean;
    publicUrl: string;
  };
  sandbox: {
    port: number;
    tlsPort: number;
  };
  webhooks: {
    /** Master key each tenant's webhook secret is derived from (lib/webhooks/webhook-secrets.ts); without it, callbackUrl is refused. */
    secret: string | undefined;
    /** After a rotation, deliveries are signed with the previous secret too for this long. */
    secretOverlapMs: number;
    /** Allow webhooks to loopback/private/link-local addresses (off: SSRF protection). */
    allowPrivateTargets: boolean;
  };
  efactura: {
    /** First stareMesaj check this long after the upload, then backing off up to the cap. */
    firstPollDelayMs: number;
    maxPollIntervalMs: number;
    /** How long an upload may take to show in ANAF's listings (≈15 min); reconciliation waits this long before re-sending. */
    listingDelayMs: number;
    /** Each inbox sync window starts this long before the last one ended: messages reach ANAF's listing late. */
    inboxOverlapMs: number;
    /** How far back an organization's first inbox sync looks (ANAF keeps 60 days). */
    inboxLookbackMs: number;
    /** Calls per CUI per Romanian day each worker process makes before refusing them itself (lib/anaf/anaf-daily-quotas.ts). */
    dailyQuotas: DailyQuotaLimits;
  };
  metrics: {
    /** The worker's /metrics port; undefined = not served. */
    workerPort: number | undefined;
    /** WORKER_METRICS_HOST: the address it listens on; loopback unless a scraper elsewhere needs it (then set METRICS_TOKEN). */
    workerHost: string;
    /** Where the Temporal SDK core's Prometheus exporter listens (host:port); the worker's /metrics includes it. */
    temporalCoreBind: string | undefined;
    /** When set, /metrics (API and worker) wants `Authorization: Bearer <token>`. */
    token: string | undefined;
  };
  etransport: {
    /** First stareMesaj check this long after an upload, then backing off up to the cap. */
    firstPollDelayMs: number;
    maxPollIntervalMs: number;
    /** How long an upload may take to show in ANAF's lista; a lost upload is re-sent only after it. */
    listingDelayMs: number;
    /** Warn this long before an unconfirmed UIT expires. */
    expiryWarningMs: number;
  };
  /** Untrusted XML is parsed on worker threads under these caps (api/xml-parse-pool.ts). */
  xmlParsing: {
    /** XML_PARSE_THREADS: parse threads, one parse each at a time. */
    threads: number;
    /** XML_PARSE_MAX_PER_TENANT: parses one tenant may have running or waiting; more are refused (429 TOO_MANY_PARSES). */
    perTenant: number;
    /** XML_PARSE_MAX_PENDING: parses running or waiting in all; more are refused (429 TOO_MANY_PARSES). */
    maxPending: number;
    /** XML_PARSE_TIMEOUT_MS: a parse running longer is stopped (422 XML_PARSE_TIMEOUT); one waiting longer for a thread is refused. */
    timeoutMs: number;
    /** XML_PARSE_MEMORY_MB: heap limit of each parse thread; a document needing more is refused (422 XML_TOO_COMPLEX). */
    memoryMb: number;
  };
  dataDir: string;
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const port = z.coerce.number().int().min(1).max(65535);
const url = z.string().url();
const hostPort = z.string().regex(/^[^\s/]+:\d+$/, 'must be host:port');
const identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, 'letters, digits, dot, dash, underscore');

function read<T>(env: Env, name: string, schema: z.ZodType<T>, fallback?: T): T {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') {
    if (fallback !== undefined) return fallback;
    const r = schema.safeParse(undefined);
    if (r.success) return r.data;
    throw new ConfigError(name, 'is required');
  }
  const r = schema.safeParse(raw.trim());
  if (!r.success) throw new ConfigError(name, r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

function optional(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function parsePayloadKeys(raw: string, variable = 'PAYLOAD_ENCRYPTION_KEYS'): PayloadKey[] {
  let list: Array<{ id: string; bytes: Buffer }>;
  try {
    list = parseKeyList(raw);
  } catch (err) {
    throw new ConfigError(variable, (err as Error).message);
  }
  return list.map(({ id, bytes }) => {
    if (bytes.length !== 32) throw new ConfigError(variable, `key "${id}" must be 32 bytes (base64), got ${bytes.length}`);
    return { id, key: bytes };
  });
}

/** `tenant:key[:role]`: role `submit` (default) or `read`. Keys hold no `:` so the role cannot be mistaken for part of one. */
/**
 * Names no tenant may take: the first segment of the workflow ids that are not a tenant's
 * (`system/oauth-clients`, `system/oauth-refresh-sweep…`); every other workflow id is `<tenant>/…`.
 */
export const RESERVED_TENANT_NAMES: readonly string[] = ['system'];

export function parseApiKeys(raw: string, variable = 'API_KEYS'): ApiKey[] {
  const keys = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [tenant = '', key = '', role = 'submit', ...rest] = entry.split(':');
      if (!tenant || !key || rest.length) throw new ConfigError(variable, 'each entry must be tenant:key or tenant:key:role');
      if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant)) {
        throw new ConfigError(variable, `tenant "${tenant}" must be lowercase letters, digits and dashes`);
      }
      if (RESERVED_TENANT_NAMES.includes(tenant)) {
        throw new ConfigError(
          variable,
          `tenant "${tenant}" is reserved: the product's own workflows use ids starting "${tenant}/"; choose another name`,
        );
      }
      if (key.length < 16) throw new ConfigError(variable, `key of tenant "${tenant}" is shorter than 16 characters`);
      if (!(TENANT_ROLES as readonly string[]).includes(role)) {
        throw new ConfigError(variable, `role "${role}" of tenant "${tenant}" must be one of ${TENANT_ROLES.join(', ')}`);
      }
      return { tenant, key, role: role as TenantRole };
    });
  if (keys.length === 0) throw new ConfigError(variable, 'no keys given');
  if (new Set(keys.map((k) => k.key)).size !== keys.length) throw new ConfigError(variable, 'the same key is listed twice');
  return keys;
}

/** OPERATOR_API_KEYS: `name:key,…`, keys of at least 24 characters, none also a tenant's key. */
export function parseOperatorKeys(raw: string | undefined, tenantKeys: readonly ApiKey[], variable = 'OPERATOR_API_KEYS'): OperatorKey[] {
  if (!raw) return [];
  const keys = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [name = '', key = '', ...rest] = entry.split(':');
      if (!name || !key || rest.length) throw new ConfigError(variable, 'each entry must be name:key');
      if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(name))
        throw new ConfigError(variable, `operator "${name}" must be lowercase letters, digits, dot, dash, underscore`);
      if (key.length < 24) throw new ConfigError(variable, `key of operator "${name}" is shorter than 24 characters`);
      return { name, key };
    });
  if (new Set(keys.map((k) => k.key)).size !== keys.length) throw new ConfigError(variable, 'the same key is listed twice');
  if (keys.some((k) => tenantKeys.some((t) => t.key === k.key)))
    throw new ConfigError(variable, "an operator key is also a tenant's key (API_KEYS)");
  return keys;
}

const DAY_MS = 24 * 3600 * 1000;

function pemFile(env: Env, name: string): string | undefined {
  const file = optional(env, name);
  if (file === undefined) return undefined;
  const resolved = path.resolve(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(resolved);
  } catch {
    throw new ConfigError(name, `no such file: ${resolved}`);
  }
  if (!stat.isFile()) throw new ConfigError(name, `not a file: ${resolved}`);
  try {
    fs.accessSync(resolved, fs.constants.R_OK);
  } catch {
    throw new ConfigError(name, `not readable: ${resolved}`);
  }
  return resolved;
}

/** TEMPORAL_TLS_CERT / _KEY / _CA / _SERVER_NAME and TEMPORAL_API_KEY, checked together. */
export function parseTemporalTls(env: Env): { tls: TemporalTlsConfig | undefined; apiKey: string | undefined } {
  const clientCert = pemFile(env, 'TEMPORAL_TLS_CERT');
  const clientKey = pemFile(env, 'TEMPORAL_TLS_KEY');
  if (Boolean(clientCert) !== Boolean(clientKey)) {
    throw new ConfigError(clientCert ? 'TEMPORAL_TLS_KEY' : 'TEMPORAL_TLS_CERT', 'the client certificate and its key go together');
  }
  const ca = pemFile(env, 'TEMPORAL_TLS_CA');
  const serverName = optional(env, 'TEMPORAL_TLS_SERVER_NAME')
    ? read(env, 'TEMPORAL_TLS_SERVER_NAME', z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/, 'must be a host name'))
    : undefined;
  const apiKey = optional(env, 'TEMPORAL_API_KEY')
    ? read(env, 'TEMPORAL_API_KEY', z.string().regex(/^\S{8,}$/, 'must be at least 8 characters without spaces'))
    : undefined;
  const tlsWanted = Boolean(clientCert || ca || serverName || apiKey);
  return { tls: tlsWanted ? { clientCert, clientKey, ca, serverName } : undefined, apiKey };
}

const credentialSetSchema = z.array(
  z.object({
    id: identifier,
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    redirectUri: url,
    scopes: z
      .array(z.enum(OAUTH_SCOPES))
      .min(1)
      .default([...OAUTH_SCOPES]),
  }),
);

function parseCredentialSets(raw: string | undefined): OAuthCredentialSet[] {
  if (!raw) return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new ConfigError('ANAF_OAUTH_CLIENTS', 'must be a JSON array of {id, clientId, clientSecret, redirectUri, scopes}');
  }
  const r = credentialSetSchema.safeParse(json);
  if (!r.success) {
    throw new ConfigError('ANAF_OAUTH_CLIENTS', r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return r.data;
}

function anafDefaults(env: AnafEnv, sandboxPort: number, sandboxTlsPort: number) {
  if (env === 'sandbox') {
    const base = `http://127.0.0.1:${sandboxPort}`;
    return {
      oauthBaseUrl: `${base}/anaf-oauth2/v1`,
      apiBaseUrl: `${base}/test`,
      banciwsBaseUrl: `https://127.0.0.1:${sandboxTlsPort}/BANCIWS/rest`,
    };
  }
  return {
    oauthBaseUrl: 'https://logincert.anaf.ro/anaf-oauth2/v1',
    apiBaseUrl: `https://api.anaf.ro/${env}`,
    banciwsBaseUrl: 'https://financiart.anaf.ro/BANCIWS/rest',
  };
}

export interface LoadConfigOptions {
  /** Where sandbox-mode secrets are generated when none are configured; tests pass false. */
  generateDevSecrets?: boolean;
  /** 'api': no key that opens a sealed token is read (TOKEN_SEALING_PUBLIC_KEYS only). Default 'all'. */
  role?: ProcessRole;
}

function keysOf<T>(env: Env, name: string, parse: (raw: string) => T[]): T[] {
  const raw = optional(env, name);
  if (!raw) return [];
  try {
    return parse(raw);
  } catch (err) {
    throw new ConfigError(name, (err as Error).message);
  }
}

/**
 * TOKEN_SEALING_PUBLIC_KEYS (API), TOKEN_SEALING_PRIVATE_KEYS (workers) and the legacy
 * TOKEN_ENCRYPTION_KEYS (workers: opens tokens sealed before public-key sealing). In the
 * sandbox, without sealing keys, one pair is derived from TOKEN_ENCRYPTION_KEYS' first key
 * so the dev stack and tests run on their embedded defaults.
 */
function tokenSealingFor(env: Env, role: ProcessRole, anafEnv: AnafEnv, rawLegacy: string | undefined): TokenSealingKeys {
  const sandbox = anafEnv === 'sandbox';
  const legacy = rawLegacy ? parsePayloadKeys(rawLegacy, 'TOKEN_ENCRYPTION_KEYS') : [];
  const derived =
    sandbox && legacy[0] && !optional(env, 'TOKEN_SEALING_PRIVATE_KEYS') && !optional(env, 'TOKEN_SEALING_PUBLIC_KEYS')
      ? sandboxSealingKeyFrom(legacy[0])
      : undefined;
  const publicKeys = keysOf(env, 'TOKEN_SEALING_PUBLIC_KEYS', parseSealingPublicKeys);
  if (role === 'api') {
    if (!sandbox) {
      for (const name of ['TOKEN_SEALING_PRIVATE_KEYS', 'TOKEN_ENCRYPTION_KEYS']) {
        if (optional(env, name))
          throw new ConfigError(
            name,
            'must not be given to the API process: it only seals tokens (TOKEN_SEALING_PUBLIC_KEYS); workers open them',
          );
      }
    }
    // Sandbox only: one environment shared by every dev process; the private halves are dropped here.
    const fromPrivate = sandbox && !publicKeys.length ? keysOf(env, 'TOKEN_SEALING_PRIVATE_KEYS', parseSealingPrivateKeys) : [];
    const keys = publicKeys.length ? publicKeys : fromPrivate.length ? fromPrivate : derived ? [derived] : [];
    if (!keys.length)
      throw new ConfigError('TOKEN_SEALING_PUBLIC_KEYS', `is required when ANAF_ENV=${anafEnv} (keyId:base64 of an X25519 public key)`);
    return sealOnlyKeys({ publicKeys: keys, privateKeys: [], legacyKeys: [] });
  }
  const privateKeys = keysOf(env, 'TOKEN_SEALING_PRIVATE_KEYS', parseSealingPrivateKeys);
  if (!privateKeys.length && !derived) {
    throw new ConfigError('TOKEN_SEALING_PRIVATE_KEYS', `is required when ANAF_ENV=${anafEnv} (keyId:base64 of an X25519 private key)`);
  }
  const mismatch = checkKeyPairsMatch(publicKeys, privateKeys);
  if (mismatch) throw new ConfigError('TOKEN_SEALING_PUBLIC_KEYS', mismatch);
  const pairs = privateKeys.length ? privateKeys : [derived!];
  return {
    publicKeys: publicKeys.length ? publicKeys : pairs.map(({ id, publicKey }) => ({ id, publicKey })),
    privateKeys: pairs,
    legacyKeys: legacy,
  };
}

export function loadConfig(env: Env = process.env, options: LoadConfigOptions = {}): AppConfig {
  const anafEnv = read(env, 'ANAF_ENV', z.enum(ANAF_ENVS), 'sandbox');
  const dataDir = path.resolve(read(env, 'DATA_DIR', z.string().min(1), './data'));
  const sandboxPort = read(env, 'SANDBOX_PORT', port, 9400);
  const sandboxTlsPort = read(env, 'SANDBOX_TLS_PORT', port, 9443);
  const defaults = anafDefaults(anafEnv, sandboxPort, sandboxTlsPort);
  const apiPort = read(env, 'API_PORT', port, 8080);
  const taskQueue = read(env, 'TEMPORAL_TASK_QUEUE', identifier, 'anaf-flow');

  const generate = options.generateDevSecrets ?? true;
  const devSecrets =
    anafEnv === 'sandbox' &&
    generate &&
    (!optional(env, 'PAYLOAD_ENCRYPTION_KEYS') || !optional(env, 'API_KEYS') || !optional(env, 'OPERATOR_API_KEYS'))
      ? loadOrCreateDevSecrets(dataDir)
      : undefined;

  const rawPayloadKeys = optional(env, 'PAYLOAD_ENCRYPTION_KEYS') ?? devSecrets?.payloadEncryptionKeys;
  if (!rawPayloadKeys) {
    throw new ConfigError('PAYLOAD_ENCRYPTION_KEYS', `is required when ANAF_ENV=${anafEnv} (keyId:base64 of 32 random bytes)`);
  }
  const rawTokenKeys = optional(env, 'TOKEN_ENCRYPTION_KEYS') ?? devSecrets?.tokenEncryptionKeys;
  const rawApiKeys = optional(env, 'API_KEYS') ?? devSecrets?.apiKeys;
  if (!rawApiKeys) throw new ConfigError('API_KEYS', `is required when ANAF_ENV=${anafEnv} (tenant:key,…)`);
  const apiKeys = parseApiKeys(rawApiKeys);

  const pfx = optional(env, 'BANCIWS_PFX');
  const clientCert = optional(env, 'BANCIWS_CLIENT_CERT');
  const clientKey = optional(env, 'BANCIWS_CLIENT_KEY');
  if (pfx && (clientCert || clientKey)) {
    throw new ConfigError('BANCIWS_PFX', 'set either BANCIWS_PFX or BANCIWS_CLIENT_CERT + BANCIWS_CLIENT_KEY, not both');
  }
  if (Boolean(clientCert) !== Boolean(clientKey)) {
    throw new ConfigError(clientCert ? 'BANCIWS_CLIENT_KEY' : 'BANCIWS_CLIENT_CERT', 'the certificate and its key go together');
  }

  const clientId = optional(env, 'ANAF_CLIENT_ID') ?? (anafEnv === 'sandbox' ? 'anaf-flow-sandbox-client' : undefined);
  const clientSecret = optional(env, 'ANAF_CLIENT_SECRET') ?? (anafEnv === 'sandbox' ? 'anaf-flow-sandbox-secret' : undefined);
  const redirectUri = optional(env, 'ANAF_REDIRECT_URI')
    ? read(env, 'ANAF_REDIRECT_URI', url)
    : anafEnv === 'sandbox'
      ? `http://localhost:${apiPort}/oauth/callback`
      : undefined;
  const credentialSets: OAuthCredentialSet[] = [];
  if (clientId && clientSecret && redirectUri) {
    credentialSets.push({ id: 'main', clientId, clientSecret, redirectUri, scopes: [...OAUTH_SCOPES] });
  }
  credentialSets.push(...parseCredentialSets(optional(env, 'ANAF_OAUTH_CLIENTS')));
  if (new Set(credentialSets.map((c) => c.id)).size !== credentialSets.length) {
    throw new ConfigError('ANAF_OAUTH_CLIENTS', 'credential set ids must be unique ("main" is ANAF_CLIENT_ID\'s)');
  }
  const days = z.coerce.number().positive().max(3650);
  const metricsPort = read(env, 'WORKER_METRICS_PORT', z.coerce.number().int().min(0).max(65535), 9464);
  const seconds = z.coerce
    .number()
    .min(0)
    .max(7 * 86_400);
  const dailyQuota = z.coerce.number().int().min(1).max(10_000_000);

  return {
    temporal: {
      address: optional(env, 'TEMPORAL_ADDRESS')
        ? read(env, 'TEMPORAL_ADDRESS', z.string().regex(/^[^\s/]+:\d+$/, 'must be host:port'))
        : undefined,
      ...parseTemporalTls(env),
      namespace: read(env, 'TEMPORAL_NAMESPACE', identifier, 'default'),
      taskQueue,
      anafTaskQueue: anafTaskQueueFor(taskQueue),
      anafCallsPerSecond: read(env, 'ANAF_CALLS_PER_MINUTE', z.coerce.number().positive().max(100_000), 950) / 60,
      banciwsTaskQueue: banciwsTaskQueueFor(taskQueue),
      banciwsCallsPerSecond: read(env, 'BANCIWS_CALLS_PER_MINUTE', z.coerce.number().positive().max(100_000), 950) / 60,
      maxCachedWorkflows: read(env, 'WORKER_MAX_CACHED_WORKFLOWS', z.coerce.number().int().min(0).max(100_000), 200),
      stallExitMs: read(env, 'WORKER_STALL_EXIT_SECONDS', z.coerce.number().int().min(0).max(86_400), 120) * 1000,
    },
    anaf: {
      env: anafEnv,
      oauthBaseUrl: read(env, 'ANAF_OAUTH_BASE_URL', url, defaults.oauthBaseUrl).replace(/\/+$/, ''),
      apiBaseUrl: read(env, 'ANAF_API_BASE_URL', url, defaults.apiBaseUrl).replace(/\/+$/, ''),
      banciwsBaseUrl: read(env, 'BANCIWS_BASE_URL', url, defaults.banciwsBaseUrl).replace(/\/+$/, ''),
      clientId,
      clientSecret,
      redirectUri,
    },
    oauth: {
      credentialSets,
      refreshLeadMs: read(env, 'OAUTH_REFRESH_LEAD_DAYS', days, 30) * DAY_MS,
      warnBeforeRefreshExpiryMs: read(env, 'OAUTH_WARN_BEFORE_DAYS', days, 30) * DAY_MS,
      lapsingWarnDays: [...new Set([read(env, 'OAUTH_REFRESH_LAPSING_WARN_DAYS', z.coerce.number().int().min(1).max(364), 30), 7, 1])].sort(
        (a, b) => b - a,
      ),
      requestTtlMs:
        read(
          env,
          'OAUTH_REQUEST_TTL_MINUTES',
          z.coerce
            .number()
            .positive()
            .max(7 * 24 * 60),
          30,
        ) * 60_000,
      browserRateLimit: {
        burst: read(env, 'OAUTH_BROWSER_RATE_BURST', z.coerce.number().int().min(1).max(100_000), 20),
        perMinute: read(env, 'OAUTH_BROWSER_RATE_PER_MINUTE', z.coerce.number().int().min(1).max(100_000), 30),
      },
    },
    banciws: {
      clientCert,
      clientKey,
      pfx,
      passphrase: optional(env, 'BANCIWS_PASSPHRASE'),
      ca: optional(env, 'BANCIWS_CA'),
      institutions: (() => {
        try {
          return parseBanciwsInstitutions(optional(env, 'BANCIWS_INSTITUTIONS'));
        } catch (err) {
          throw new ConfigError('BANCIWS_INSTITUTIONS', (err as Error).message);
        }
      })(),
      firstPollDelayMs: read(env, 'BANCIWS_FIRST_POLL_SECONDS', seconds, anafEnv === 'sandbox' ? 1 : 60) * 1000,
      maxPollIntervalMs: read(env, 'BANCIWS_MAX_POLL_INTERVAL_SECONDS', seconds, anafEnv === 'sandbox' ? 10 : 900) * 1000,
      listingDelayMs: read(env, 'BANCIWS_LISTING_DELAY_SECONDS', seconds, anafEnv === 'sandbox' ? 5 : 900) * 1000,
      tlsMaxVersion: read(env, 'BANCIWS_TLS_MAX_VERSION', z.enum(['TLSv1.2', 'TLSv1.3']), 'TLSv1.2'),
    },
    payloadKeys: parsePayloadKeys(rawPayloadKeys),
    tokenSealing: tokenSealingFor(env, options.role ?? 'all', anafEnv, rawTokenKeys),
    api: {
      port: apiPort,
      keys: apiKeys,
      operatorKeys: parseOperatorKeys(optional(env, 'OPERATOR_API_KEYS') ?? devSecrets?.operatorApiKeys, apiKeys),
      temporalRpcTimeoutMs: read(env, 'TEMPORAL_RPC_TIMEOUT_MS', z.coerce.number().int().min(100).max(120_000), 5000),
      keysGenerated: !optional(env, 'API_KEYS'),
      publicUrl: read(env, 'API_PUBLIC_URL', url, `http://localhost:${apiPort}`).replace(/\/+$/, ''),
    },
    sandbox: { port: sandboxPort, tlsPort: sandboxTlsPort },
    webhooks: {
      secret: optional(env, 'WEBHOOK_SECRET') ?? devSecrets?.webhookSecret,
      allowPrivateTargets: read(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', z.enum(['true', 'false']), 'false') === 'true',
      secretOverlapMs:
        read(
          env,
          'WEBHOOK_SECRET_OVERLAP_HOURS',
          z.coerce
            .number()
            .min(0)
            .max(30 * 24),
          24,
        ) * 3600_000,
    },
    efactura: {
      firstPollDelayMs: read(env, 'EFACTURA_FIRST_POLL_SECONDS', seconds, anafEnv === 'sandbox' ? 2 : 60) * 1000,
      maxPollIntervalMs: read(env, 'EFACTURA_MAX_POLL_INTERVAL_SECONDS', seconds, anafEnv === 'sandbox' ? 30 : 900) * 1000,
      listingDelayMs: read(env, 'EFACTURA_LISTING_DELAY_SECONDS', seconds, anafEnv === 'sandbox' ? 10 : 1200) * 1000,
      inboxOverlapMs:
        read(
          env,
          'EFACTURA_INBOX_OVERLAP_MINUTES',
          z.coerce
            .number()
            .int()
            .min(0)
            .max(24 * 60),
          anafEnv === 'sandbox' ? 2 : 60,
        ) * 60_000,
      inboxLookbackMs: read(env, 'EFACTURA_INBOX_LOOKBACK_DAYS', z.coerce.number().int().min(1).max(59), 7) * 24 * 3600_000,
      // ANAF raises them on request (limiteApeluriAPI), hence configurable; the defaults are the published ones.
      dailyQuotas: {
        RASP_UPLOAD: read(env, 'EFACTURA_DAILY_RASP_UPLOADS', dailyQuota, ANAF_PUBLISHED_DAILY_QUOTAS.RASP_UPLOAD),
        PAGINATED_LIST: read(env, 'EFACTURA_DAILY_PAGINATED_LISTINGS', dailyQuota, ANAF_PUBLISHED_DAILY_QUOTAS.PAGINATED_LIST),
      },
    },
    metrics: {
      workerPort: metricsPort || undefined,
      workerHost: read(
        env,
        'WORKER_METRICS_HOST',
        z.string().regex(/^[0-9a-fA-F.:]+$|^localhost$/, 'must be an IP address or localhost'),
        '127.0.0.1',
      ),
      temporalCoreBind:
        optional(env, 'TEMPORAL_METRICS_BIND') === 'off' ? undefined : read(env, 'TEMPORAL_METRICS_BIND', hostPort, '127.0.0.1:9465'),
      token: optional(env, 'METRICS_TOKEN') ? read(env, 'METRICS_TOKEN', z.string().min(16, 'at least 16 characters')) : undefined,
    },
    etransport: {
      firstPollDelayMs: read(env, 'ETRANSPORT_FIRST_POLL_SECONDS', seconds, anafEnv === 'sandbox' ? 2 : 30) * 1000,
      maxPollIntervalMs: read(env, 'ETRANSPORT_MAX_POLL_INTERVAL_SECONDS', seconds, anafEnv === 'sandbox' ? 30 : 600) * 1000,
      listingDelayMs: read(env, 'ETRANSPORT_LISTING_DELAY_SECONDS', seconds, anafEnv === 'sandbox' ? 10 : 1200) * 1000,
      expiryWarningMs: read(env, 'ETRANSPORT_EXPIRY_WARNING_HOURS', seconds, 24) * 3600 * 1000,
    },
    xmlParsing: {
      threads: read(env, 'XML_PARSE_THREADS', z.coerce.number().int().min(1).max(64), 2),
      perTenant: read(env, 'XML_PARSE_MAX_PER_TENANT', z.coerce.number().int().min(1).max(1000), 8),
      maxPending: read(env, 'XML_PARSE_MAX_PENDING', z.coerce.number().int().min(1).max(10_000), 32),
      // A 10 MB invoice takes 1-2 s on one core; the cap leaves room for a busy machine.
      timeoutMs: read(env, 'XML_PARSE_TIMEOUT_MS', z.coerce.number().int().min(100).max(120_000), 10_000),
      // A 10 MB invoice needs about 120 MB of heap to read; a million-element or attribute bomb, several GB.
      memoryMb: read(env, 'XML_PARSE_MEMORY_MB', z.coerce.number().int().min(64).max(8192), 256),
    },
    dataDir,
    logLevel: read(env, 'LOG_LEVEL', z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  };
}
