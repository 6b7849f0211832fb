import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  AuthorizationRequestView,
  AuthorizationView,
  CallbackInput,
  CallbackResult,
  CurrentToken,
  InstallTokensRequest,
  RefreshRequest,
} from './types';

// Message definitions live apart from the workflow bodies so the API and activities can
// import them without pulling in workflow code.

export const statusQuery = defineQuery<AuthorizationView>('status');
/** Sealed: only activities holding TOKEN_ENCRYPTION_KEYS can open it. */
export const currentTokenQuery = defineQuery<CurrentToken | null>('currentToken');
export const installUpdate = defineUpdate<AuthorizationView, [InstallTokensRequest]>('install');
export const refreshUpdate = defineUpdate<CurrentToken, [RefreshRequest]>('refresh');
export const revokeUpdate = defineUpdate<AuthorizationView, []>('revoke');

export const requestStatusQuery = defineQuery<AuthorizationRequestView>('requestStatus');
export const callbackUpdate = defineUpdate<CallbackResult, [CallbackInput]>('callback');
export const authorizeUrlQuery = defineQuery<string | null>('authorizeUrl');
