import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Anything that can carry a credential is censored by key name wherever it sits in a
 * log object (up to three levels deep): OAuth tokens, client secrets, cookies, keys,
 * Authorization headers. Strings are not scanned: never interpolate a secret into a
 * message, log it as a field so these paths catch it.
 */
const SECRET_KEYS = [
  'authorization',
  'Authorization',
  'cookie',
  'Cookie',
  'set-cookie',
  'Set-Cookie',
  'x-api-key',
  'apiKey',
  'api_key',
  'password',
  'passphrase',
  'secret',
  'clientSecret',
  'client_secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'privateKey',
  'pfx',
  'cookieJar',
];

export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => {
  const p = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
  const dot = (prefix: string) => (p.startsWith('[') ? `${prefix}${p}` : `${prefix}.${p}`);
  return [p, dot('*'), dot('*.*'), dot('*.*.*')];
});

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where to write; tests pass a stream to scan every line for secrets. */
  destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      name: options.name ?? 'anaf-flow',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
