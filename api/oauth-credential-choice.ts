import type { OAuthScope } from '../lib/config/config';
import { type CredentialSetEntry, CredentialSetRegistry } from '../services/clients/oauth-credential-sets';
import { CredentialSetNotFoundError, pickCredentialSetFrom } from './oauth-requests';
import type { ApiContext } from './context';
import { ApiError } from './errors';

/** What the API reads for new sign-ins: no cache, so a retirement holds at once on every API process. */
export function registryOf(ctx: ApiContext): CredentialSetRegistry {
  return new CredentialSetRegistry({ config: ctx.config, client: ctx.client, cacheMs: 0 });
}

/**
 * The live set a new authorization request (or import) uses: api/oauth-routes.ts's
 * credentialSetOr400. 400 UNKNOWN_OAUTH_CALLBACK when none serves it, 409 CREDENTIAL_SET_RETIRED
 * when the callback names a set an operator retired.
 */
export async function liveCredentialSet(ctx: ApiContext, scope: OAuthScope, oauthCallback?: string): Promise<CredentialSetEntry> {
  const sets = await registryOf(ctx).all();
  try {
    return pickCredentialSetFrom(sets, scope, oauthCallback);
  } catch (err) {
    if (!(err instanceof CredentialSetNotFoundError)) throw err;
    const retired = sets.find((s) => s.retiredAt && s.redirectUri === oauthCallback && s.scopes.includes(scope));
    if (retired) {
      throw new ApiError(
        409,
        'CREDENTIAL_SET_RETIRED',
        `OAuth credential set "${retired.id}" was retired at ${retired.retiredAt}: new sign-ins may not use it`,
      );
    }
    throw new ApiError(400, 'UNKNOWN_OAUTH_CALLBACK', err.message);
  }
}
