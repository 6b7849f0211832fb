import { type Client, WorkflowNotFoundError } from '@temporalio/client';
import { CLIENT_REGISTRY_WORKFLOW_ID, clientsQuery, type RegisteredClient } from '../../workflows/oauth/client-registry';
import type { AppConfig, OAuthCredentialSet } from '../../lib/config/config';

/**
 * Every OAuth client credential set, as one list: those from env (ANAF_CLIENT_* is "main",
 * then ANAF_OAUTH_CLIENTS), read-only, and those an operator added through the API, kept
 * sealed by the registry workflow (workflows/oauth/client-registry.ts).
 */
export type CredentialSetEntry =
  | (OAuthCredentialSet & { source: 'env'; retiredAt?: undefined })
  | (Omit<RegisteredClient, 'sealedSecret'> & { source: 'api'; sealedSecret: string });

/** Never the secret, sealed or not: what an answer or a log line may hold. */
export function publicCredentialSet(entry: CredentialSetEntry) {
  return {
    id: entry.id,
    source: entry.source,
    clientId: entry.clientId,
    redirectUri: entry.redirectUri,
    scopes: [...entry.scopes],
    ...(entry.source === 'api'
      ? {
          createdAt: entry.createdAt,
          ...(entry.secretRotatedAt ? { secretRotatedAt: entry.secretRotatedAt } : {}),
          ...(entry.retiredAt ? { retiredAt: entry.retiredAt } : {}),
        }
      : {}),
  };
}

const DEFAULT_CACHE_MS = 30_000;

/** An env set and an API-added set share an id: neither is used until one is renamed. */
export class CredentialSetIdClashError extends Error {
  override readonly name = 'CredentialSetIdClashError';
  constructor(readonly ids: string[]) {
    super(
      `OAuth credential set id${ids.length > 1 ? 's' : ''} ${ids.map((id) => `"${id}"`).join(', ')} ` +
        'both in env (ANAF_CLIENT_* / ANAF_OAUTH_CLIENTS) and added through the API: rename the env set. ' +
        "Until then neither is used (the authorizations made with the API's set would otherwise refresh with the env set's client)",
    );
  }
}

/** The ids both in env and added through the API (an env set added after an operator added one with that id). */
export function credentialSetClashes(envSets: readonly OAuthCredentialSet[], runtime: readonly RegisteredClient[]): string[] {
  const envIds = new Set(envSets.map((s) => s.id));
  return runtime.filter((c) => envIds.has(c.id)).map((c) => c.id);
}

/**
 * One list of env and run-time sets. An id in both is left out on both sides rather than resolved:
 * either choice would send some authorization's refresh to a client ANAF did not bind its refresh
 * token to. Only that id stops working (byId names the clash); every other set goes on.
 */
export function mergeCredentialSets(envSets: readonly OAuthCredentialSet[], runtime: readonly RegisteredClient[]): CredentialSetEntry[] {
  const clashes = new Set(credentialSetClashes(envSets, runtime));
  return [
    ...envSets.filter((s) => !clashes.has(s.id)).map((s): CredentialSetEntry => ({ ...s, source: 'env' })),
    ...runtime.filter((c) => !clashes.has(c.id)).map((c): CredentialSetEntry => ({ ...c, source: 'api' })),
  ];
}

export interface CredentialSetRegistryOptions {
  config: Pick<AppConfig, 'oauth'>;
  client: Client;
  /** How long a read of the registry workflow is reused; 0 reads it every time (the API, so a retirement holds at once). */
  cacheMs?: number;
  /** A deadline for the query; without it the client's own (the API's interceptors give every call TEMPORAL_RPC_TIMEOUT_MS). */
  deadlineMs?: number;
  now?: () => number;
}

/** Reads the run-time sets through the registry workflow's query, with a short cache for workers. */
export class CredentialSetRegistry {
  private cached: { at: number; clients: RegisteredClient[] } | undefined;
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(private readonly options: CredentialSetRegistryOptions) {
    this.cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
    this.now = options.now ?? Date.now;
  }

  /** The next read asks the registry workflow (after a refusal that a newer secret may explain). */
  forget(): void {
    this.cached = undefined;
  }

  private async runtimeClients(fresh: boolean): Promise<RegisteredClient[]> {
    const hit = this.cached;
    if (!fresh && hit && this.now() - hit.at < this.cacheMs) return hit.clients;
    const { client, deadlineMs } = this.options;
    const read = () => client.workflow.getHandle(CLIENT_REGISTRY_WORKFLOW_ID).query(clientsQuery);
    let clients: RegisteredClient[];
    try {
      clients = await (deadlineMs === undefined ? read() : client.withDeadline(Date.now() + deadlineMs, read));
    } catch (err) {
      // Never started: nobody added a set through the API yet.
      if (!(err instanceof WorkflowNotFoundError)) throw err;
      clients = [];
    }
    this.cached = { at: this.now(), clients };
    return clients;
  }

  /** Env sets first (they win a callback tie, as before), then the run-time ones; an id in both is in neither (mergeCredentialSets). */
  async all(options: { fresh?: boolean } = {}): Promise<CredentialSetEntry[]> {
    return mergeCredentialSets(this.options.config.oauth.credentialSets, await this.runtimeClients(options.fresh ?? false));
  }

  /**
   * The set `id`, retired or not (existing authorizations keep using a retired set); an unknown id asks the
   * registry again at once. Throws CredentialSetIdClashError for an id both in env and added through the API.
   */
  async byId(id: string): Promise<CredentialSetEntry | undefined> {
    const find = async (fresh: boolean) => {
      const runtime = await this.runtimeClients(fresh);
      if (credentialSetClashes(this.options.config.oauth.credentialSets, runtime).includes(id)) throw new CredentialSetIdClashError([id]);
      return mergeCredentialSets(this.options.config.oauth.credentialSets, runtime).find((s) => s.id === id);
    };
    return (await find(false)) ?? (await find(true));
  }
}
