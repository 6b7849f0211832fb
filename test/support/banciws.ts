import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { issueClientCertificate, type RunningBanciws, signedPdf, createCa } from '../../sandbox/banciws';

/** Client certificates for tests, written to a temp directory (never into the repository). */
export interface TestCredentials {
  dir: string;
  clientCert: string;
  clientKey: string;
  ca: string;
}

export async function writeClientCredentials(banciws: RunningBanciws, cui: string, options: { foreignCa?: boolean } = {}): Promise<TestCredentials> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'banciws-cert-'));
  // A certificate from another CA is what "wrong certificate" means: well-formed, not ANAF's.
  const issuer = options.foreignCa ? await createCa('some other CA') : banciws.pki.ca;
  const pair = await issueClientCertificate(issuer, { cui });
  const files = { clientCert: path.join(dir, 'client.pem'), clientKey: path.join(dir, 'client.key'), ca: path.join(dir, 'ca.pem') };
  fs.writeFileSync(files.clientCert, pair.cert);
  fs.writeFileSync(files.clientKey, pair.key, { mode: 0o600 });
  fs.writeFileSync(files.ca, banciws.pki.ca.cert);
  return { dir, ...files };
}

export function testSignedPdf(title: string, extra: string[] = []): Buffer {
  return signedPdf({ title, lines: ['Raportare F2101', ...extra] }, 'Banca Test');
}
