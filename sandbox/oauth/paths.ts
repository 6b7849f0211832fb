/** logincert.anaf.ro's paths, served from the sandbox's single origin. */
export const OAUTH_BASE = '/anaf-oauth2/v1';
export const AUTHORIZE_PATH = `${OAUTH_BASE}/authorize`;
export const DECISION_PATH = `${OAUTH_BASE}/authorize/decision`;
export const TOKEN_PATH = `${OAUTH_BASE}/token`;
export const REVOKE_PATH = `${OAUTH_BASE}/revoke`;
export const JWKS_ADMIN_PATH = '/oauth/jwks';
