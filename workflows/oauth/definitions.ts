import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AuthorizationRequestView,
  AuthorizationView,
  CallbackInput,
  CallbackResult,
  CurrentToken,
  InstallTokensRequest,
  LinkCompanyRequest,
  LinkCompanyResult,
  OAuthScope,
  RefreshRequest,
  ResealRequest,
  ResealResult,
  SetWebhookRequest,
} from './types';

// Message definitions live apart from the workflow bodies so the API and activities can
// import them without pulling in workflow code.

export const statusQuery = defineQuery<AuthorizationView>('status');
/** Sealed: only workers (TOKEN_SEALING_PRIVATE_KEYS) can open it. */
export const currentTokenQuery = defineQuery<CurrentToken | null>('currentToken');
export const installUpdate = defineUpdate<AuthorizationView, [InstallTokensRequest]>('install');
export const refreshUpdate = defineUpdate<CurrentToken, [RefreshRequest]>('refresh');
export const revokeUpdate = defineUpdate<AuthorizationView, []>('revoke');
/** Rejected by its validator (no history event) when every held token is sealed to that key already. */
export const resealUpdate = defineUpdate<ResealResult, [ResealRequest]>('resealTokens');

/**
 * Links a company to this authorization for a scope: one cheap ANAF call with its token for that
 * CIF, then the organization's link. Refused (no history event) for a scope it was not given or
 * when it holds no usable token; fails `CifNotCovered` when ANAF refuses the CIF.
 */
export const linkCompanyUpdate = defineUpdate<LinkCompanyResult, [LinkCompanyRequest]>('linkCompany');
/** The company no longer uses this authorization (its organization was unlinked or linked elsewhere). */
export const forgetCompanyUpdate = defineUpdate<AuthorizationView, [LinkCompanyRequest]>('forgetCompany');

/** PATCH /v1/authorizations/{id}: where its events are pushed (the URL is checked by the API); refused once revoked. */
export const setWebhookUpdate = defineUpdate<AuthorizationView, [SetWebhookRequest]>('setWebhook');

/**
 * An ANAF call made with this authorization's token was refused for a CIF ("Nu aveti drept in SPV
 * pentru CIF=…"): sent best effort by the activity that saw it (activities/oauth/call-refusals.ts).
 */
export const cifRefusedAtCallSignal = defineSignal<[{ cif: string; scope: OAuthScope; reason: string }]>('cifRefusedAtCall');

export const requestStatusQuery = defineQuery<AuthorizationRequestView>('requestStatus');
export const callbackUpdate = defineUpdate<CallbackResult, [CallbackInput]>('callback');
export const authorizeUrlQuery = defineQuery<string | null>('authorizeUrl');
/** New requests' short link: ANAF's URL without the state and the state's hash (null once used or expired, and for legacy requests). */
export const signInLinkQuery = defineQuery<{ url: string; stateHash: string } | null>('signInLink');
