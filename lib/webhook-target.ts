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

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let ip = ipaddr.parse(address);
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  return ip.range() === 'unicast';
}

/** Syntax and literal-address check, for the API (no DNS). */
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
  if (!allowPrivate) {
    if (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || host.endsWith('.local')) {
      throw new WebhookTargetError('callbackUrl points at a local host');
    }
    if (ipaddr.isValid(host) && !isPublicAddress(host)) throw new WebhookTargetError('callbackUrl points at a private, loopback or link-local address');
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
