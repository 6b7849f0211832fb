import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OpenedTokenMemo } from '../../lib/crypto/opened-token-memo';
import { TokenSealer } from '../../lib/crypto/token-seal';
import { testConfig } from '../../devkit/config';
import { eventually } from '../../devkit/wait';

/** The real sealer, counting how often it is asked to open (the memo exists to ask it less). */
class CountingSealer extends TokenSealer {
  opens = 0;
  override open(sealed: string): string {
    this.opens++;
    return super.open(sealed);
  }
}

test('a sealed token is opened once while it is in use, and each new sealed string afresh', () => {
  const sealer = new CountingSealer(testConfig().tokenSealing);
  const memo = new OpenedTokenMemo(sealer);
  const first = sealer.seal('access-token-1');
  assert.equal(memo.open(first), 'access-token-1');
  assert.equal(memo.open(first), 'access-token-1');
  assert.equal(memo.open(first), 'access-token-1');
  assert.equal(sealer.opens, 1);
  // A refresh: a new token, a new sealed string.
  const second = sealer.seal('access-token-2');
  assert.equal(memo.open(second), 'access-token-2');
  assert.equal(sealer.opens, 2);
  // The same token sealed twice is two strings (random ephemeral key): each opens to the same plaintext.
  assert.equal(memo.open(sealer.seal('access-token-2')), 'access-token-2');
  assert.equal(sealer.opens, 3);
});

test('opened tokens are kept a bounded time and count', () => {
  const sealer = new CountingSealer(testConfig().tokenSealing);
  const memo = new OpenedTokenMemo(sealer, { maxAgeMs: 60_000, maxEntries: 2 });
  const [a, b, c] = ['a', 'b', 'c'].map((t): string => sealer.seal(`token-${t}`)) as [string, string, string];
  memo.open(a);
  memo.open(b);
  memo.open(c); // a is the oldest beyond two entries: dropped
  assert.equal(sealer.opens, 3);
  memo.open(b);
  memo.open(c);
  assert.equal(sealer.opens, 3);
  memo.open(a);
  assert.equal(sealer.opens, 4);
  // Past its age an entry is opened again.
  const realNow = Date.now;
  try {
    Date.now = () => realNow() + 61_000;
    memo.open(a);
    assert.equal(sealer.opens, 5);
  } finally {
    Date.now = realNow;
  }
});

test('a token that cannot be opened is not remembered as opened', () => {
  const sealer = new CountingSealer(testConfig().tokenSealing);
  const memo = new OpenedTokenMemo(sealer);
  assert.throws(() => memo.open('not-sealed'), /cannot be opened/);
  assert.throws(() => memo.open('not-sealed'), /cannot be opened/);
  assert.equal(sealer.opens, 2);
});

test('a worker that goes idle forgets the opened tokens once they are past their age', async () => {
  const sealer = new CountingSealer(testConfig().tokenSealing);
  const memo = new OpenedTokenMemo(sealer, { maxAgeMs: 100, maxEntries: 10 });
  memo.open(sealer.seal('token-a'));
  memo.open(sealer.seal('token-b'));
  assert.equal(memo.size, 2);
  // Nothing opens anything from here on: only the memo's own sweep can empty it.
  await eventually(
    async () => memo.size,
    (size) => size === 0,
    'the idle memo emptied by its sweep',
    5_000,
  );
});
