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

/** Stack configuration for BANCIWS against the sandbox: one institution per entry, certificates from the sandbox CA. */
export function banciwsStackConfig(institutions: Array<{ id: string; tenant: string; cui: string; pollEveryMinutes?: number; zile?: string }>) {
  return async (sandbox: { banciws?: RunningBanciws }): Promise<Record<string, string>> => {
    const banciws = sandbox.banciws;
    if (!banciws) throw new Error('start the stack with sandbox.banciws');
    const entries = [];
    for (const i of institutions) {
      const creds = await writeClientCredentials(banciws, i.cui);
      entries.push({ id: i.id, tenant: i.tenant, cui: i.cui, zile: i.zile ?? '1', pollEveryMinutes: i.pollEveryMinutes ?? 0, clientCert: creds.clientCert, clientKey: creds.clientKey, ca: creds.ca });
    }
    return {
      BANCIWS_BASE_URL: banciws.baseUrl,
      BANCIWS_INSTITUTIONS: JSON.stringify(entries),
      BANCIWS_FIRST_POLL_SECONDS: '0.2',
      BANCIWS_MAX_POLL_INTERVAL_SECONDS: '1',
      BANCIWS_LISTING_DELAY_SECONDS: '2',
    };
  };
}

export interface ApiReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One API call with the tenant's key; JSON in and out, or a prepared body (multipart). */
export async function api(apiUrl: string, key: string, method: string, path: string, init: { json?: unknown; body?: string | FormData; headers?: Record<string, string> } = {}): Promise<ApiReply> {
  const headers: Record<string, string> = { 'x-api-key': key, ...init.headers };
  let body: string | FormData | undefined = init.body;
  if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  const res = await fetch(`${apiUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const raw = Buffer.from(await res.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body: raw, json };
}

/** A local webhook receiver: resolves `next(event)` when a delivery of that event arrives. */
export async function webhookReceiver() {
  const http = await import('node:http');
  const received: Array<{ event: string; body: any }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  const waiters: Array<{ event: string; resolve: (b: unknown) => void }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      received.push({ event: body.event, body });
      for (const w of waiters.filter((x) => x.event === body.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(body);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    next(event: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
      const already = received.find((r) => r.event === event);
      return already ? Promise.resolve(already.body) : new Promise((resolve) => waiters.push({ event, resolve }));
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
