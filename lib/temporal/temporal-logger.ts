import { DefaultLogger, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../observability/logger';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** Routes the Temporal SDK's own logs (worker, workflow and activity loggers) through pino and its redaction. */
export function temporalLoggerFor(logger: Logger, level: LogLevel = 'INFO'): DefaultLogger {
  const child = logger.child({ component: 'temporal-sdk' });
  return new DefaultLogger(level, (entry: LogEntry) => {
    child[PINO_LEVEL[entry.level]]({ ...entry.meta }, entry.message);
  });
}
