import { z } from 'zod';

/**
 * How the simulated logincert.anaf.ro behaves. Defaults follow ANAF's published
 * procedure: codes exchangeable for 60 s, access tokens for 90 days, refresh tokens for
 * 365 days, a new refresh token on every refresh, and the old one still accepted
 * ("Ambele pot fi reutilizate") unless a test asks for strict reuse detection.
 */

export interface OAuthClientRegistration {
  clientId: string;
  clientSecret: string;
  /** Compared exactly, like the callback URL registered in ANAF's "Editare profil Oauth". */
  redirectUris: string[];
}

/** A simulated qualified certificate a user "presents" at the authorize step. */
export interface SimulatedCertificate {
  /** Hex serial; it becomes the tokens' `sub`, the identity ANAF authorizes by. */
  serial: string;
  subject: string;
  /** Taxpayers (CIF) the certificate may act for; absent = any. For the API modules. */
  cifs?: string[];
}

export interface OAuthOptions {
  clients: OAuthClientRegistration[];
  codeTtlSeconds: number;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
  /** Each refresh returns a new refresh token. */
  rotateRefreshTokens: boolean;
  /** A rotated-out refresh token is refused with invalid_grant and its whole family is revoked (reuse detection). */
  rejectReusedRefreshToken: boolean;
  /** Revoke answers 302 to /my.policy, as ANAF's gateway has been seen doing to machine clients; nothing is revoked. */
  revokeRedirectsToGateway: boolean;
  /** Known certificates; the first is offered on the authorize page unless `cert_serial` picks another. */
  certificates: SimulatedCertificate[];
  /** PKCS#8 PEM of an RSA private key to sign with; a fresh 2048-bit key per start when absent. */
  signingKeyPem?: string;
}

export const DEFAULT_CLIENT: OAuthClientRegistration = {
  clientId: 'anaf-flow-sandbox-client',
  clientSecret: 'anaf-flow-sandbox-secret',
  redirectUris: ['http://localhost:8080/oauth/callback', 'http://127.0.0.1:8080/oauth/callback'],
};

export const DEFAULT_CERTIFICATE: SimulatedCertificate = {
  serial: '4A0F1C2B3D4E5F60718293A4',
  subject: 'CN=POPESCU ION, SERIALNUMBER=PNORO-1800101000000, O=SANDBOX SRL, C=RO',
};

export const ANAF_ISSUER = 'https://logincert.anaf.ro';
const DAY = 24 * 3600;

export const DEFAULT_OAUTH_OPTIONS: OAuthOptions = {
  clients: [DEFAULT_CLIENT],
  codeTtlSeconds: 60,
  accessTokenTtlSeconds: 90 * DAY,
  refreshTokenTtlSeconds: 365 * DAY,
  rotateRefreshTokens: true,
  rejectReusedRefreshToken: false,
  revokeRedirectsToGateway: false,
  certificates: [DEFAULT_CERTIFICATE],
};

const SERIAL = /^[0-9A-Fa-f]{1,64}$/;

export function normalizeSerial(serial: string): string | undefined {
  const s = serial.trim();
  return SERIAL.test(s) ? s.toUpperCase() : undefined;
}

export function resolveOAuthOptions(partial: Partial<OAuthOptions> = {}): OAuthOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<OAuthOptions>;
  const options: OAuthOptions = { ...DEFAULT_OAUTH_OPTIONS, ...defined };
  validateOAuthOptions(options);
  return {
    ...options,
    clients: options.clients.map((c) => ({ ...c, redirectUris: [...c.redirectUris] })),
    certificates: options.certificates.map((c) => ({ ...c, serial: normalizeSerial(c.serial) as string })),
  };
}

export function validateOAuthOptions(o: OAuthOptions): void {
  const problems: string[] = [];
  if (o.clients.length === 0) problems.push('clients: at least one client is needed');
  const ids = new Set<string>();
  for (const c of o.clients) {
    if (!c.clientId || !c.clientSecret) problems.push('clients: clientId and clientSecret are required');
    if (ids.has(c.clientId)) problems.push(`clients: duplicate clientId ${c.clientId}`);
    ids.add(c.clientId);
    if (c.redirectUris.length === 0) problems.push(`clients: ${c.clientId} has no redirectUris`);
    for (const uri of c.redirectUris) {
      try {
        new URL(uri);
      } catch {
        problems.push(`clients: ${c.clientId} redirect URI ${uri} is not an absolute URL`);
      }
    }
  }
  for (const key of ['codeTtlSeconds', 'accessTokenTtlSeconds', 'refreshTokenTtlSeconds'] as const) {
    if (!Number.isFinite(o[key]) || o[key] <= 0) problems.push(`${key}: must be a positive number of seconds`);
  }
  if (o.certificates.length === 0) problems.push('certificates: at least one certificate is needed');
  for (const c of o.certificates) if (!normalizeSerial(c.serial)) problems.push(`certificates: serial ${c.serial} is not hex`);
  if (problems.length) throw new Error(`invalid sandbox OAuth options: ${problems.join('; ')}`);
}

/** What PATCH /__sandbox/oauth/options accepts: any option but the signing key. */
export const oauthOptionsPatchSchema = z
  .strictObject({
    clients: z
      .array(
        z.strictObject({ clientId: z.string().min(1), clientSecret: z.string().min(1), redirectUris: z.array(z.string().url()).min(1) }),
      )
      .min(1),
    codeTtlSeconds: z.number().positive(),
    accessTokenTtlSeconds: z.number().positive(),
    refreshTokenTtlSeconds: z.number().positive(),
    rotateRefreshTokens: z.boolean(),
    rejectReusedRefreshToken: z.boolean(),
    revokeRedirectsToGateway: z.boolean(),
    certificates: z
      .array(z.strictObject({ serial: z.string().min(1), subject: z.string().min(1), cifs: z.array(z.string()).optional() }))
      .min(1),
  })
  .partial();
