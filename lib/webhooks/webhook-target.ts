import dns from 'node:dns';
import ipaddr from 'ipaddr.js';

/**
 * callbackUrl is chosen by API callers, so delivering to it could be used to reach our
 * own network (SSRF). Unless WEBHOOK_ALLOW_PRIVATE_TARGETS is set, only http(s) URLs
 * whose addresses are public unicast are allowed — checked at submission on the literal
 * host, and again at delivery on every address DNS returns (no rebinding around it).
 */
export class WebhookTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

/** Ports a webhook may be delivered to: HTTPS's own and its usual alternative; nothing that reaches an internal service's port. */
export const WEBHOOK_PORTS: ReadonlySet<string> = new Set(['443', '8443']);

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6') {
    const v6 = ip as ipaddr.IPv6;
    // IPv4-compatible (::/96, deprecated): `::7f00:1` is 127.0.0.1 to many stacks. Never a webhook's address.
    if (v6.parts.slice(0, 6).every((p) => p === 0)) return false;
    if (v6.isIPv4MappedAddress()) ip = v6.toIPv4Address();
  }
  return ip.range() === 'unicast';
}

const isLocalName = (host: string) => host === 'localhost' || host.endsWith('.localhost');

/** Syntax, port and literal-address check, for the API (no DNS). */
export function checkWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('callbackUrl is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new WebhookTargetError('callbackUrl must be http(s)');
  if (url.username || url.password) throw new WebhookTargetError('callbackUrl must not carry credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  // Development (WEBHOOK_ALLOW_PRIVATE_TARGETS, the SSRF guard off) may deliver to any port, e.g. a receiver on
  // localhost; otherwise only 443 or 8443, so a public name cannot lead a delivery to some service's own port.
  if (!WEBHOOK_PORTS.has(port) && !allowPrivate) {
    throw new WebhookTargetError(`callbackUrl must use port 443 or 8443 (got ${port})`);
  }
  if (!allowPrivate) {
    if (isLocalName(host) || host.endsWith('.internal') || host.endsWith('.local')) {
      throw new WebhookTargetError('callbackUrl points at a local host');
    }
    if (ipaddr.isValid(host) && !isPublicAddress(host))
      throw new WebhookTargetError('callbackUrl points at a private, loopback or link-local address');
  }
  return url;
}

/**
 * A dns.lookup for undici's connector that refuses non-public answers. `resolve` is the
 * system resolver; tests pass their own to make a host name answer a private address.
 */
export function publicOnlyLookup(allowPrivate: boolean, resolve: typeof dns.lookup = dns.lookup): typeof dns.lookup {
  return ((hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err);
      const list = addresses as dns.LookupAddress[];
      const bad = list.find((a) => !allowPrivate && !isPublicAddress(a.address));
      if (bad) return callback(new WebhookTargetError(`callbackUrl resolves to a non-public address (${bad.address})`));
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(new Error(`no address for ${hostname}`));
      callback(null, first.address, first.family);
    });
  }) as unknown as typeof dns.lookup;
}
