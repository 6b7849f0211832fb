import 'reflect-metadata'; // @peculiar/x509's dependency injection needs it loaded first
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * The sandbox's own PKI: a CA standing in for ANAF's internal CA, the gateway's server
 * certificate and institution client certificates. ECDSA P-256 keeps generation in the
 * milliseconds, so tests make fresh ones in temp directories instead of committing keys.
 */

// The library is typed against the DOM's WebCrypto; Node's is the same API under other names.
type X509Crypto = Parameters<typeof x509.cryptoProvider.set>[0];
type X509KeyPair = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
type X509Key = X509KeyPair['privateKey'];

x509.cryptoProvider.set(webcrypto as unknown as X509Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 3600 * 1000;

export interface PemPair {
  cert: string;
  key: string;
}

export interface SandboxPki {
  ca: PemPair;
  server: PemPair;
}

async function pemKey(key: X509Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key as unknown as webcrypto.CryptoKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(12)))
    .toString('hex')
    .replace(/^[89a-f]/, '1');
}

async function newKeys(): Promise<X509KeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as X509KeyPair;
}

export async function createCa(commonName = 'anaf-flow sandbox CA'): Promise<PemPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${commonName}, O=anaf-flow sandbox`,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + 3650 * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) };
}

async function issue(ca: PemPair, subject: string, extensions: x509.Extension[], validDays: number): Promise<PemPair> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decode(ca.key)[0]!, ALG, false, ['sign']);
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + validDays * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: caKey as unknown as X509Key,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ...extensions,
    ],
  });
  return { cert: cert.toString('pem'), key: await pemKey(keys.privateKey) };
}

/** The gateway's certificate, valid for the loopback names the sandbox is reached by. */
export function issueServerCertificate(ca: PemPair, hosts: string[] = ['127.0.0.1', 'localhost', '::1']): Promise<PemPair> {
  const names = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }));
  return issue(
    ca,
    'CN=financiart.sandbox, O=anaf-flow sandbox',
    [new x509.SubjectAlternativeNameExtension(names), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])],
    825,
  );
}

/**
 * An institution's client certificate, shaped like the ones ANAF's CA issues: OU is the
 * institution's CUI (digits only), O its name.
 */
export function issueClientCertificate(ca: PemPair, institution: { cui: string; name?: string }, validDays = 365): Promise<PemPair> {
  const name = (institution.name ?? `Institutie ${institution.cui}`).replace(/[,=+<>#;"\\]/g, ' ');
  return issue(
    ca,
    `CN=banciws-client-${institution.cui}, OU=${institution.cui}, O=${name}, C=RO`,
    [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    validDays,
  );
}

export async function createSandboxPki(): Promise<SandboxPki> {
  const ca = await createCa();
  return { ca, server: await issueServerCertificate(ca) };
}
