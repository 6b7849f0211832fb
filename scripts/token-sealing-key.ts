import { newSealingKeyPair } from '../lib/crypto/sealed-box';

/**
 * A new OAuth token-sealing key pair, as the two variables take it:
 *   npx tsx scripts/token-sealing-key.ts s2
 * The public line goes to the API (first in TOKEN_SEALING_PUBLIC_KEYS), the private line to
 * the workers only (TOKEN_SEALING_PRIVATE_KEYS). Rotation: give the workers the new private
 * key first, then put the new key first on both; the daily re-seal sweep moves every stored
 * token to it, after which the old key can be removed.
 */
const id = process.argv[2] ?? `s${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
  console.error('key id: letters, digits, dot, dash, underscore (at most 64)');
  process.exit(2);
}
const pair = newSealingKeyPair();
console.log(`TOKEN_SEALING_PUBLIC_KEYS=${id}:${pair.publicKey}`);
console.log(`TOKEN_SEALING_PRIVATE_KEYS=${id}:${pair.privateKey}`);
