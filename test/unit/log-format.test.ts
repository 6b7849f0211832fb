import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { chooseLogFormat, createLogger } from '../../lib/observability/logger';

/** Issue 13: human-readable logs on a terminal, JSON wherever a machine reads them; LOG_FORMAT decides when set. */

const captured = (format: 'json' | 'pretty') => {
  const out = new PassThrough();
  const lines: string[] = [];
  out.on('data', (chunk: Buffer) => lines.push(chunk.toString('utf8')));
  return { logger: createLogger({ name: 'log-format-test', format, destination: out }), text: () => lines.join('') };
};

describe('log format', () => {
  test('chooseLogFormat: LOG_FORMAT wins; else pretty on a TTY outside production, JSON otherwise', () => {
    assert.equal(chooseLogFormat({}, true), 'pretty');
    assert.equal(chooseLogFormat({}, false), 'json');
    assert.equal(chooseLogFormat({ NODE_ENV: 'production' }, true), 'json');
    assert.equal(chooseLogFormat({ NODE_ENV: 'development' }, true), 'pretty');
    assert.equal(chooseLogFormat({ LOG_FORMAT: 'json' }, true), 'json');
    assert.equal(chooseLogFormat({ LOG_FORMAT: 'pretty', NODE_ENV: 'production' }, false), 'pretty');
    assert.equal(chooseLogFormat({ LOG_FORMAT: ' PRETTY ' }, false), 'pretty');
    assert.equal(chooseLogFormat({ LOG_FORMAT: '' }, true), 'pretty');
    assert.throws(() => chooseLogFormat({ LOG_FORMAT: 'xml' }, true), /LOG_FORMAT must be json or pretty/);
  });

  test('pretty lines are for people and still redact secrets; JSON lines parse', async () => {
    const pretty = captured('pretty');
    pretty.logger.info({ accessToken: 'secret-token-value', institution: 'banca-a' }, 'uploaded');
    const json = captured('json');
    json.logger.info({ accessToken: 'secret-token-value' }, 'uploaded');
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(pretty.text(), /INFO \(log-format-test\): uploaded/);
    assert.match(pretty.text(), /institution: "banca-a"/);
    assert.throws(() => JSON.parse(pretty.text()));
    assert.ok(!pretty.text().includes('secret-token-value'), pretty.text());
    const line = JSON.parse(json.text()) as Record<string, unknown>;
    assert.equal(line.msg, 'uploaded');
    assert.equal(line.accessToken, '[REDACTED]');
  });
});
