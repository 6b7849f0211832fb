import fs from 'node:fs';
import path from 'node:path';
import { createCa, issueClientCertificate, issueServerCertificate } from '../../sandbox/banciws/certificates';

/**
 * The cluster's own small PKI under DATA_DIR/cluster/tls, made once: a CA, the frontend's
 * server certificate (localhost, 127.0.0.1), a client certificate for anaf-flow's processes
 * and one for Temporal's system workers. The frontend requires a certificate from this CA.
 */

export const CLUSTER_TLS_SERVER_NAME = 'localhost';

export interface ClusterTls {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  systemWorkerCert: string;
  systemWorkerKey: string;
}

export async function ensureClusterTls(clusterDir: string): Promise<ClusterTls> {
  const dir = path.join(clusterDir, 'tls');
  const f = (name: string) => path.join(dir, name);
  const files: ClusterTls = {
    dir,
    ca: f('ca.pem'),
    serverCert: f('frontend.pem'),
    serverKey: f('frontend.key'),
    clientCert: f('anaf-flow.pem'),
    clientKey: f('anaf-flow.key'),
    systemWorkerCert: f('system-worker.pem'),
    systemWorkerKey: f('system-worker.key'),
  };
  const all = [
    files.ca,
    files.serverCert,
    files.serverKey,
    files.clientCert,
    files.clientKey,
    files.systemWorkerCert,
    files.systemWorkerKey,
  ];
  if (all.every((p) => fs.existsSync(p))) return files;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await createCa('anaf-flow cluster CA');
  const server = await issueServerCertificate(ca, [CLUSTER_TLS_SERVER_NAME, '127.0.0.1', '::1']);
  const client = await issueClientCertificate(ca, { cui: 'anaf-flow', name: 'anaf-flow' }, 825);
  const systemWorker = await issueClientCertificate(ca, { cui: 'temporal-system-worker', name: 'Temporal' }, 825);
  const write = (file: string, pem: string, secret: boolean) => fs.writeFileSync(file, pem, { mode: secret ? 0o600 : 0o644 });
  write(files.ca, ca.cert, false);
  write(files.serverCert, server.cert, false);
  write(files.serverKey, server.key, true);
  write(files.clientCert, client.cert, false);
  write(files.clientKey, client.key, true);
  write(files.systemWorkerCert, systemWorker.cert, false);
  write(files.systemWorkerKey, systemWorker.key, true);
  return files;
}

/** The product's TEMPORAL_TLS_* variables for this cluster. */
export function clusterTlsEnv(tls: ClusterTls): Record<string, string> {
  return {
    TEMPORAL_TLS_CERT: tls.clientCert,
    TEMPORAL_TLS_KEY: tls.clientKey,
    TEMPORAL_TLS_CA: tls.ca,
    TEMPORAL_TLS_SERVER_NAME: CLUSTER_TLS_SERVER_NAME,
  };
}
