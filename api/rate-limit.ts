import type { RequestHandler } from 'express';
import { ApiError } from './errors';

export interface RateLimitOptions {
  /** Requests a client may make at once (the bucket's size). */
  burst: number;
  /** Requests per minute it gets back. */
  perMinute: number;
  /** Clients tracked at most; past it the fullest buckets are forgotten first (memory stays bounded under a spray of addresses). */
  maxClients?: number;
}

/**
 * A token bucket per client IP, in memory: enough for the public browser routes (the OAuth
 * short link and callback), which a single API instance serves to people, not machines.
 * Behind a proxy the IP is the proxy's unless Express's `trust proxy` is configured for it.
 */
export function perIpRateLimit(options: RateLimitOptions): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const refillPerMs = options.perMinute / 60_000;
  const maxClients = options.maxClients ?? 10_000;
  return (req, res, next) => {
    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    const bucket = buckets.get(ip) ?? { tokens: options.burst, at: now };
    bucket.tokens = Math.min(options.burst, bucket.tokens + (now - bucket.at) * refillPerMs);
    bucket.at = now;
    buckets.delete(ip);
    buckets.set(ip, bucket); // most recent last: eviction drops the least recently seen
    if (buckets.size > maxClients) buckets.delete(buckets.keys().next().value!);
    if (bucket.tokens < 1) {
      const retryAfterS = Math.ceil((1 - bucket.tokens) / refillPerMs / 1000);
      res.setHeader('retry-after', String(retryAfterS));
      next(new ApiError(429, 'RATE_LIMITED', `Too many requests from this address; retry in ${retryAfterS} s`));
      return;
    }
    bucket.tokens -= 1;
    next();
  };
}
