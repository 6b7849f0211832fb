import fs from 'node:fs';
import path from 'node:path';
import { createSandboxPki, issueClientCertificate, type SandboxPki } from './certificates';

/**
 * `npm run dev`'s BANCIWS certificates: a sandbox CA, the gateway's server certificate and
 * one institution client certificate, generated once under DATA_DIR/banciws (keys 0600)
 * so the whole mTLS path works out of the box and survives restarts.
 */

export const DEV_BANCIWS_CUI = '361820';

export interface DevPkiFiles {
  dir: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
}

const FILES = ['ca.pem', 'ca.key', 'server.pem', 'server.key', 'client.pem', 'client.key'] as const;

export async function ensureDevPki(dataDir: string): Promise<DevPkiFiles> {
  const dir = path.join(dataDir, 'banciws');
  const file = (name: (typeof FILES)[number]) => path.join(dir, name);
  if (!FILES.every((f) => fs.existsSync(file(f)))) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pki = await createSandboxPki();
    const client = await issueClientCertificate(pki.ca, { cui: DEV_BANCIWS_CUI, name: 'Banca Dev' });
    const write = (name: (typeof FILES)[number], content: string, secret: boolean) =>
      fs.writeFileSync(file(name), content, { mode: secret ? 0o600 : 0o644 });
    write('ca.pem', pki.ca.cert, false);
    write('ca.key', pki.ca.key, true);
    write('server.pem', pki.server.cert, false);
    write('server.key', pki.server.key, true);
    write('client.pem', client.cert, false);
    write('client.key', client.key, true);
  }
  return { dir, caCert: file('ca.pem'), clientCert: file('client.pem'), clientKey: file('client.key') };
}

export function loadDevPki(dir: string): SandboxPki {
  const read = (name: string) => fs.readFileSync(path.join(dir, name), 'utf8');
  return { ca: { cert: read('ca.pem'), key: read('ca.key') }, server: { cert: read('server.pem'), key: read('server.key') } };
}
