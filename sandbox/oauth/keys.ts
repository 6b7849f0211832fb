import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';

/** ANAF signs its JWTs RS512: an RSA key, SHA-512. */
export const SIGNING_ALG = 'RS512';

export interface SigningKeys {
  privateKey: KeyObject;
  publicKey: KeyObject;
  kid: string;
  jwks: { keys: JWK[] };
}

const generateRsa = promisify(generateKeyPair);

export async function loadSigningKeys(privateKeyPem?: string): Promise<SigningKeys> {
  let privateKey: KeyObject;
  if (privateKeyPem) {
    privateKey = createPrivateKey(privateKeyPem);
    const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
    if (privateKey.asymmetricKeyType !== 'rsa' || bits < 2048) {
      throw new Error(`the sandbox signing key must be RSA of at least 2048 bits for ${SIGNING_ALG}`);
    }
  } else {
    ({ privateKey } = await generateRsa('rsa', { modulusLength: 2048 }));
  }
  const publicKey = createPublicKey(privateKey);
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey, publicKey, kid, jwks: { keys: [{ ...jwk, kid, alg: SIGNING_ALG, use: 'sig' }] } };
}
