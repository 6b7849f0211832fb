import { ApplicationFailure } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { AppConfig, OAuthCredentialSet } from '../../lib/config/config';
import { type CredentialSetEntry, CredentialSetRegistry } from '../../services/clients/oauth-credential-sets';
import type { TokenSealer } from '../../lib/crypto/token-seal';
import { OAUTH_FAILURES } from './anaf-oauth-client';

/** The workers' client has no deadline of its own for the registry's query. */
const QUERY_DEADLINE_MS = 10_000;

/**
 * The credential set an authorization's calls to ANAF use, by id: from env, or added by an
 * operator through the API (its secret opened here, on a worker, and nowhere else). A retired
 * set still answers: ANAF binds a refresh token to the client that obtained it, so existing
 * authorizations keep refreshing and revoking with it.
 */
export class CredentialSetLookup {
  private readonly registry: CredentialSetRegistry | undefined;

  constructor(
    private readonly config: Pick<AppConfig, 'oauth'>,
    private readonly sealer: TokenSealer,
    client: Client | undefined,
  ) {
    this.registry = client ? new CredentialSetRegistry({ config, client, deadlineMs: QUERY_DEADLINE_MS }) : undefined;
  }

  private async entry(id: string, fresh: boolean): Promise<CredentialSetEntry | undefined> {
    if (!this.registry) return this.config.oauth.credentialSets.map((s) => ({ ...s, source: 'env' as const })).find((s) => s.id === id);
    if (fresh) this.registry.forget();
    return this.registry.byId(id);
  }

  /** The set with its secret in plaintext, for one call to ANAF; `fresh` skips the cache. */
  async open(id: string, options: { fresh?: boolean } = {}): Promise<OAuthCredentialSet & { source: CredentialSetEntry['source'] }> {
    const entry = await this.entry(id, options.fresh ?? false);
    if (!entry) {
      throw ApplicationFailure.create({
        type: 'UnknownCredentialSet',
        message: `OAuth credential set "${id}" is not configured (ANAF_CLIENT_* / ANAF_OAUTH_CLIENTS) nor added through the API`,
        nonRetryable: true,
      });
    }
    if (entry.source === 'env') return entry;
    const { sealedSecret: _sealed, createdAt: _c, secretRotatedAt: _r, retiredAt: _t, ...set } = entry;
    return { ...set, clientSecret: this.sealer.open(entry.sealedSecret) };
  }

  /**
   * Runs `call` with the set; when ANAF refuses a run-time set's client authentication, the
   * registry is read again and, if the secret was rotated meanwhile (another process's cache
   * was younger than ours), the call is made once more with the new one.
   */
  async withSet<T>(id: string, call: (set: OAuthCredentialSet) => Promise<T>): Promise<T> {
    const set = await this.open(id);
    try {
      return await call(set);
    } catch (err) {
      if (set.source !== 'api' || !(err instanceof ApplicationFailure) || err.type !== OAUTH_FAILURES.INVALID_CLIENT) throw err;
      const fresh = await this.open(id, { fresh: true });
      if (fresh.clientSecret === set.clientSecret) throw err;
      return call(fresh);
    }
  }
}
