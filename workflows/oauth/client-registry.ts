import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineUpdate,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { OAuthOrchestrationActivities } from '../../activities/oauth';
import type { OAuthScope } from '../../lib/config/config';
import { parseSealed, sealedUnder } from '../../lib/crypto/sealed-secret-format';
import { AnafService, AnafTenant } from '../../lib/temporal/search-attributes';

/**
 * OAuth client credential sets an operator added through the API (the ones from env are not
 * here): one workflow per deployment, the record every API and worker process reads.
 * The client secret is held sealed to a TOKEN_SEALING public key; only workers open it.
 */
export const CLIENT_REGISTRY_WORKFLOW_ID = 'system/oauth-clients';

export interface RegisteredClient {
  id: string;
  clientId: string;
  /** Sealed (lib/crypto/token-seal.ts); never plaintext here, in history or in an answer. */
  sealedSecret: string;
  redirectUri: string;
  scopes: OAuthScope[];
  createdAt: string;
  secretRotatedAt?: string;
  /** Refused for new sign-ins since; authorizations made with it keep refreshing and revoking with it. */
  retiredAt?: string;
}

export type AddClientRequest = Omit<RegisteredClient, 'createdAt' | 'secretRotatedAt' | 'retiredAt'>;

/** Refusal types the API turns into typed answers (api/oauth-client-routes.ts). */
export const REGISTRY_REFUSALS = {
  EXISTS: 'CredentialSetExists',
  NOT_FOUND: 'CredentialSetNotFound',
  CALLBACK_IN_USE: 'CallbackInUse',
  NOT_SEALED: 'SecretNotSealed',
} as const;

export const clientsQuery = defineQuery<RegisteredClient[]>('clients');
export const addClientUpdate = defineUpdate<RegisteredClient, [AddClientRequest]>('addClient');
export const rotateClientSecretUpdate = defineUpdate<RegisteredClient, [{ id: string; sealedSecret: string }]>('rotateClientSecret');
export const retireClientUpdate = defineUpdate<RegisteredClient, [{ id: string }]>('retireClient');
/** Same refusal text as the authorizations' resealTokens, so the sweep treats both alike. */
export const resealClientSecretsUpdate = defineUpdate<{ resealed: number }, [{ keyId: string }]>('resealClientSecrets');

const refuse = (type: string, message: string) => ApplicationFailure.create({ type, message, nonRetryable: true });

function requireSealed(secret: string): void {
  if (parseSealed(secret)?.version !== 'v2')
    throw refuse(REGISTRY_REFUSALS.NOT_SEALED, 'the client secret must be sealed to a TOKEN_SEALING public key');
}

const sharesScope = (a: { scopes: OAuthScope[] }, b: { scopes: OAuthScope[] }) => a.scopes.some((s) => b.scopes.includes(s));

export async function oauthClientRegistry(input: { carried?: RegisteredClient[] } = {}): Promise<void> {
  const clients: RegisteredClient[] = input.carried ?? [];
  const now = () => new Date().toISOString();
  const find = (id: string) => {
    const found = clients.find((c) => c.id === id);
    if (!found) throw refuse(REGISTRY_REFUSALS.NOT_FOUND, `no credential set "${id}" was added through the API`);
    return found;
  };
  upsertSearchAttributes([
    { key: AnafTenant, value: '_system' },
    { key: AnafService, value: 'system' },
  ]);

  setHandler(clientsQuery, () => clients);
  setHandler(
    addClientUpdate,
    (req) => {
      const added: RegisteredClient = { ...req, scopes: [...req.scopes], createdAt: now() };
      clients.push(added);
      return added;
    },
    {
      validator: (req) => {
        requireSealed(req.sealedSecret);
        if (clients.some((c) => c.id === req.id)) throw refuse(REGISTRY_REFUSALS.EXISTS, `credential set "${req.id}" exists`);
        // pickCredentialSet finds a set by its callback: two live sets on one callback for one scope would make one unreachable.
        if (clients.some((c) => !c.retiredAt && c.redirectUri === req.redirectUri && sharesScope(c, req))) {
          throw refuse(REGISTRY_REFUSALS.CALLBACK_IN_USE, `a live credential set already uses ${req.redirectUri} for one of these scopes`);
        }
      },
    },
  );
  setHandler(
    rotateClientSecretUpdate,
    (req) => {
      const set = find(req.id);
      set.sealedSecret = req.sealedSecret;
      set.secretRotatedAt = now();
      return set;
    },
    {
      validator: (req) => {
        requireSealed(req.sealedSecret);
        find(req.id);
      },
    },
  );
  setHandler(
    retireClientUpdate,
    (req) => {
      const set = find(req.id);
      set.retiredAt ??= now();
      return set;
    },
    { validator: (req) => void find(req.id) },
  );
  setHandler(
    resealClientSecretsUpdate,
    async (req) => {
      const stale = clients.filter((c) => !sealedUnder(c.sealedSecret, req.keyId));
      const before = stale.map((c) => c.sealedSecret);
      const resealed = await resealActivities().resealTokenSecrets({ sealed: before });
      let count = 0;
      stale.forEach((c, i) => {
        // A rotation meanwhile brought a secret sealed to the newest key: keep it.
        if (c.sealedSecret !== before[i]) return;
        c.sealedSecret = resealed[i]!;
        count += 1;
      });
      return { resealed: count };
    },
    {
      validator: (req) => {
        if (clients.every((c) => sealedUnder(c.sealedSecret, req.keyId))) throw new Error('already sealed to the newest key');
      },
    },
  );

  await condition(() => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000);
  await condition(allHandlersFinished);
  await continueAsNew<typeof oauthClientRegistry>({ carried: clients });
}

/** Re-sealing runs on the orchestration queue: it needs the private keys and calls no ANAF. */
function resealActivities() {
  return proxyActivities<OAuthOrchestrationActivities>({
    startToCloseTimeout: '30 seconds',
    retry: { initialInterval: '5 seconds', maximumAttempts: 5 },
  });
}
