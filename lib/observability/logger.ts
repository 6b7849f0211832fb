import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

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

export type LogFormat = 'json' | 'pretty';

/**
 * How logs are written (issue 13): LOG_FORMAT=json|pretty when set; otherwise human-readable
 * lines on a terminal (`npm run dev`), and JSON lines wherever a machine reads them (not a TTY:
 * files, pipes, containers, log shippers) and always under NODE_ENV=production.
 */
export function chooseLogFormat(env: NodeJS.ProcessEnv = process.env, isTty = Boolean(process.stdout.isTTY)): LogFormat {
  const forced = env.LOG_FORMAT?.trim().toLowerCase();
  if (forced === 'json' || forced === 'pretty') return forced;
  if (forced) throw new Error(`LOG_FORMAT must be json or pretty, not ${JSON.stringify(env.LOG_FORMAT)}`);
  if (env.NODE_ENV === 'production') return 'json';
  return isTty ? 'pretty' : 'json';
}

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where to write; tests pass a stream to scan every line for secrets. */
  destination?: pino.DestinationStream;
  /** chooseLogFormat() when absent. */
  format?: LogFormat;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? chooseLogFormat();
  // Pretty printing formats what pino wrote, after redaction: the same fields are censored either way.
  const destination =
    format === 'pretty'
      ? pretty({
          destination: options.destination ?? 1,
          sync: true,
          colorize: options.destination === undefined && Boolean(process.stdout.isTTY),
          translateTime: 'SYS:HH:MM:ss.l',
          ignore: 'pid,hostname',
        })
      : options.destination;
  return pino(
    {
      name: options.name ?? 'anaf-flow',
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
