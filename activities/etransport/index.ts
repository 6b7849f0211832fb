import { ApplicationFailure, Context } from '@temporalio/activity';
import { ApplicationFailureCategory } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { BlobStore } from '../../lib/storage/blob-store';
import type { AppConfig } from '../../lib/config/config';
import type { AnafApiEnvironment } from '../../lib/anaf/anaf-environments';
import type { TokenSealer } from '../../lib/crypto/token-seal';
import type { OrganizationMemos } from '../../services/clients/organization-memo';
import { followUpXml, matchListedDeclaration, type ListedDeclaration } from '../../schemas/etransport-declaration';
import { prepareOperation } from '../../schemas/etransport-operation';
import type {
  FollowUpRequest,
  PreparedOperation,
  ReconcileDeclarationInput,
  ReconcileDeclarationResult,
} from '../../workflows/etransport/types';
import type { AuthorizationKey } from '../../workflows/oauth/types';
import { clientsPerEnvironment, EnvironmentResolver, fixedEnvironment } from '../anaf/environments';
import { ANAF_CALL_TOKEN_CACHE_MS, TokenProvider, type TokenCallResult } from '../oauth/token-provider';
import { EtransportClient, type CarrierTransport, type EtransportUploadAnswer, type InfoQuery } from './anaf-etransport-client';

export interface EtransportActivityDeps {
  config: Pick<AppConfig, 'anaf'>;
  client: Client;
  sealer: TokenSealer;
  blobs: BlobStore;
  /** The process's one reader of organizations' memos (token routing, ANAF environment). */
  organizations: OrganizationMemos;
}

export interface EtransportTarget {
  tenant: string;
  cif: string;
  /** A declaration's lifecycle: the environment its notification was sent to (fixed at its start); absent in older workflows. */
  anafEnvironment?: AnafApiEnvironment;
}

export const ETRANSPORT_NOT_READY = 'EtransportNotReady';
export const ETRANSPORT_STATUS_REFUSED = 'EtransportStatusRefused';

/** Clock skew and ANAF's timestamps: look a little before the attempt. */
const RECONCILE_MARGIN_MS = 5 * 60_000;
const DAY_MS = 24 * 3600 * 1000;

const keyOf = (t: EtransportTarget): AuthorizationKey => ({ tenant: t.tenant, cif: t.cif, scope: 'ETRANSPORT' });

function unwrap<T>(result: TokenCallResult<T>, operation: string): T {
  if (result.ok) return result.value;
  throw ApplicationFailure.create({
    type: 'AnafUnauthorized',
    message: `${operation}: ANAF rejected the token twice (HTTP ${result.status}) even after a refresh`,
    nonRetryable: true,
  });
}

/** lista's `zile` covering everything since `sinceMs` (1–60). */
export function listaDaysSince(sinceMs: number, now = Date.now()): number {
  return Math.min(60, Math.max(1, Math.ceil((now - sinceMs) / DAY_MS) + 1));
}

/** e-Transport activities that call ANAF: registered on the rate-limited ANAF task queue. */
export function createEtransportAnafActivities(deps: EtransportActivityDeps) {
  const anafIn = clientsPerEnvironment(deps.config.anaf.apiBaseUrl, (apiBaseUrl) => new EtransportClient({ apiBaseUrl }));
  const environments = new EnvironmentResolver(deps.organizations, deps.config.anaf.apiBaseUrl);
  /** A declaration's own calls stay where its notification went; lookups follow the organization's setting now. */
  const lifecycleAnaf = (target: EtransportTarget) => anafIn(fixedEnvironment(environments, target));
  const currentAnaf = async (target: EtransportTarget) => anafIn(await environments.environment(target, 'ETRANSPORT'));
  const tokens = new TokenProvider(deps.client, deps.sealer, { cacheMs: ANAF_CALL_TOKEN_CACHE_MS, organizations: deps.organizations });
  const { blobs } = deps;

  return {
    /** One upload (v2). A lost answer is a non-retryable AnafAnswerLost: the workflow reconciles instead of re-sending. */
    async uploadDeclaration(input: EtransportTarget & { documentKey: string }): Promise<EtransportUploadAnswer> {
      const xml = await blobs.get(input.documentKey);
      return unwrap(
        await tokens.withToken(keyOf(input), (token) => lifecycleAnaf(input).upload(token, input.cif, xml)),
        'e-Transport upload',
      );
    },

    /** One stareMesaj; "in prelucrare" is a benign failure retried by Temporal with the workflow's backoff (no history event per poll). */
    async checkDeclarationStatus(
      input: EtransportTarget & { uploadIndex: string },
    ): Promise<{ state: 'ok' | 'nok' | 'XML cu erori nepreluat de sistem'; errors: string[]; attempt: number }> {
      const attempt = Context.current().info.attempt;
      const answer = unwrap(
        await tokens.withToken(keyOf(input), (token) => lifecycleAnaf(input).status(token, input.uploadIndex)),
        'e-Transport stareMesaj',
      );
      if (answer.state === 'in prelucrare') {
        throw ApplicationFailure.create({
          type: ETRANSPORT_NOT_READY,
          message: `upload ${input.uploadIndex} is still being processed (check ${attempt})`,
          details: [{ attempt }],
          category: ApplicationFailureCategory.BENIGN,
        });
      }
      if (answer.state === 'error') {
        throw ApplicationFailure.create({
          type: ETRANSPORT_STATUS_REFUSED,
          message: `ANAF refused the status of upload ${input.uploadIndex}: ${answer.errors.join('; ')}`,
          details: [{ errors: answer.errors }],
          nonRetryable: true,
        });
      }
      return { state: answer.state, errors: answer.state === 'nok' ? answer.errors : [], attempt };
    },

    /** Did an upload whose answer was lost reach ANAF? Looks for it in lista since the attempt. */
    async findUploadedDeclaration(input: ReconcileDeclarationInput): Promise<ReconcileDeclarationResult> {
      const days = listaDaysSince(input.sinceMs);
      const entries = unwrap(
        await tokens.withToken(keyOf(input), (token) => lifecycleAnaf(input).list(token, days, input.cif)),
        'e-Transport lista',
      );
      const match = matchListedDeclaration(entries, {
        kind: input.kind,
        identity: input.identity,
        ...(input.uit ? { uit: input.uit } : {}),
        knownIndexes: input.knownIndexes,
        notBefore: input.sinceMs - RECONCILE_MARGIN_MS,
      });
      if (!match?.uploadIndex) return { listed: entries.length };
      return {
        listed: entries.length,
        match: {
          uploadIndex: match.uploadIndex,
          ...(match.uit ? { uit: match.uit } : {}),
          valid: match.state !== 'ERR',
          errors: match.messages.filter((m) => m.type === 'ERR').map((m) => m.text),
        },
      };
    },

    async listDeclarations(input: EtransportTarget & { days: number }): Promise<ListedDeclaration[]> {
      const anaf = await currentAnaf(input);
      return unwrap(await tokens.withToken(keyOf(input), (token) => anaf.list(token, input.days, input.cif)), 'e-Transport lista');
    },

    async carrierTransports(input: EtransportTarget & { query: InfoQuery }): Promise<CarrierTransport[]> {
      const anaf = await currentAnaf(input);
      return unwrap(await tokens.withToken(keyOf(input), (token) => anaf.info(token, input.query)), 'e-Transport info');
    },
  };
}

export type EtransportAnafActivities = ReturnType<typeof createEtransportAnafActivities>;

/**
 * Turns an operator's follow-up request (a signal from the Web UI: JSON, or XML inline)
 * into a stored, checked document; the API does the same before its Update.
 */
export function createEtransportOrchestrationActivities(deps: Pick<EtransportActivityDeps, 'blobs'>) {
  return {
    async prepareFollowUp(input: {
      tenant: string;
      declarantCif: string;
      uit: string;
      refDeclarant?: string;
      request: FollowUpRequest;
    }): Promise<PreparedOperation | { invalid: string; message: string }> {
      const r = input.request;
      const xml =
        r.type === 'XML'
          ? r.xml
          : followUpXml(
              input.declarantCif,
              r.type === 'DELETION'
                ? { type: 'DELETION', uit: input.uit }
                : r.type === 'CONFIRMATION'
                  ? {
                      type: 'CONFIRMATION',
                      uit: input.uit,
                      confirmationType: r.confirmationType,
                      ...(r.remarks ? { remarks: r.remarks } : {}),
                    }
                  : {
                      type: 'VEHICLE_CHANGE',
                      uit: input.uit,
                      vehicle: r.vehicle,
                      date: r.date,
                      ...(r.trailer1 ? { trailer1: r.trailer1 } : {}),
                      ...(r.trailer2 ? { trailer2: r.trailer2 } : {}),
                      ...(r.remarks ? { remarks: r.remarks } : {}),
                    },
              input.refDeclarant,
            );
      return prepareOperation(deps.blobs, input.tenant, Buffer.from(xml, 'utf8'), r.requestKey);
    },
  };
}

export type EtransportOrchestrationActivities = ReturnType<typeof createEtransportOrchestrationActivities>;
