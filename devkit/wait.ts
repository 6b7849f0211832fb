import assert from 'node:assert/strict';

/**
 * Asks `read` until `ok` holds or the deadline passes (for Temporal visibility, which is
 * eventually consistent), then returns the last answer; fails with `what` and that answer.
 */
export async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not so after ${timeoutMs} ms; last answer: ${JSON.stringify(value)?.slice(0, 1000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
