/**
 * The text form of a sealed OAuth secret, `sealed:<version>:<keyId>:<base64url box>`, read
 * without any key: pure string work, so workflow code may use it too (which key sealed a
 * token decides whether the re-seal sweep has work to do).
 */
export const SEALED_V1 = 'sealed:v1:'; // AES-256-GCM under a TOKEN_ENCRYPTION_KEYS key
export const SEALED_V2 = 'sealed:v2:'; // X25519 sealed box to a TOKEN_SEALING_PUBLIC_KEYS key

export interface SealedParts {
  version: 'v1' | 'v2';
  keyId: string;
  body: string;
}

export function parseSealed(sealed: string): SealedParts | undefined {
  const version = sealed.startsWith(SEALED_V2) ? 'v2' : sealed.startsWith(SEALED_V1) ? 'v1' : undefined;
  if (!version) return undefined;
  const rest = sealed.slice(SEALED_V1.length);
  const sep = rest.indexOf(':');
  if (sep <= 0) return undefined;
  return { version, keyId: rest.slice(0, sep), body: rest.slice(sep + 1) };
}

/** True when the secret is sealed to the public key `keyId` (nothing to re-seal). */
export function sealedUnder(sealed: string, keyId: string): boolean {
  const parts = parseSealed(sealed);
  return parts?.version === 'v2' && parts.keyId === keyId;
}
