import fs from 'node:fs';
import tls from 'node:tls';
import type { ConnectionOptions } from 'node:tls';

/**
 * The institution's client certificate for BANCIWS, read from the files the configuration
 * names. Errors name the variable and the file, never the content: the key is a secret.
 */

export interface BanciwsCredentialPaths {
  clientCert?: string;
  clientKey?: string;
  pfx?: string;
  passphrase?: string;
  ca?: string;
}

export class BanciwsCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BanciwsCredentialsError';
  }
}

function readFile(what: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new BanciwsCredentialsError(`BANCIWS ${what} file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

/** TLS options for undici's connector: the client identity, ANAF's (or the sandbox's) CA on top of the system roots, verification on. */
export function tlsOptionsFor(paths: BanciwsCredentialPaths, label = 'BANCIWS'): ConnectionOptions {
  let identity: ConnectionOptions;
  if (paths.pfx) {
    identity = { pfx: readFile('PFX (BANCIWS_PFX)', paths.pfx), ...(paths.passphrase ? { passphrase: paths.passphrase } : {}) };
  } else if (paths.clientCert && paths.clientKey) {
    identity = {
      cert: readFile('certificate (BANCIWS_CLIENT_CERT)', paths.clientCert),
      key: readFile('key (BANCIWS_CLIENT_KEY)', paths.clientKey),
    };
  } else {
    throw new BanciwsCredentialsError(
      `${label}: no client certificate configured; set BANCIWS_CLIENT_CERT + BANCIWS_CLIENT_KEY, or BANCIWS_PFX (+ BANCIWS_PASSPHRASE)`,
    );
  }
  const options: ConnectionOptions = { ...identity, rejectUnauthorized: true };
  if (paths.ca) options.ca = [...tls.rootCertificates, readFile('CA (BANCIWS_CA)', paths.ca).toString('utf8')];
  // Fail now, with a clear message, rather than on the first handshake (wrong passphrase, key not matching the cert).
  try {
    tls.createSecureContext(options);
  } catch (err) {
    const reason = (err as Error).message.replace(/-----BEGIN[\s\S]*?-----END[^-]*-----/g, '[redacted]');
    throw new BanciwsCredentialsError(`${label}: the client certificate cannot be used: ${reason}`);
  }
  return options;
}
