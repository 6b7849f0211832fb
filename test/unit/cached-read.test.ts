import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CachedRead } from '../../lib/temporal/cached-read';

test('one read in flight per key, reused for cacheMs; a stale answer stands in when a read fails; forget reads again', async () => {
  const cache = new CachedRead<number>({ cacheMs: 60_000, staleMaxAgeMs: 300_000 });
  let reads = 0;
  const read = async () => ++reads;
  assert.deepEqual(await Promise.all([cache.get('a', read), cache.get('a', read), cache.get('a', read)]), [1, 1, 1]);
  assert.equal(await cache.get('a', read), 1, 'cached');
  assert.equal(reads, 1);
  cache.forget('a');
  assert.equal(await cache.get('a', read), 2, 'read again after forget');
  const failing = new CachedRead<number>({ cacheMs: 0, staleMaxAgeMs: 300_000 });
  await failing.get('b', read);
  await assert.rejects(
    failing.get('b', () => Promise.reject(new Error('away'))),
    /away/,
    'no stale answer for a caller that does not cache',
  );
  const expired = new CachedRead<number>({ cacheMs: 1, staleMaxAgeMs: 300_000 });
  assert.equal(await expired.get('c', async () => 7), 7);
  await new Promise((r) => setImmediate(r));
  const until = Date.now() + 5;
  while (Date.now() < until) {
    // let cacheMs (1 ms) pass without a timer
  }
  assert.equal(await expired.get('c', () => Promise.reject(new Error('away'))), 7, 'stale within staleMaxAgeMs');
});

test('forget: a read in flight from before is neither joined nor cached; the old answer still stands in while Temporal is away', async () => {
  const cache = new CachedRead<string>({ cacheMs: 60_000, staleMaxAgeMs: 300_000 });
  assert.equal(await cache.get('org', async () => 'linked to A'), 'linked to A');
  cache.forget('org');
  let release!: (v: string) => void;
  const before = cache.get('org', () => new Promise<string>((r) => (release = r)));
  // Relinked meanwhile; the caller that saw ANAF refuse the token forgets and reads again.
  cache.forget('org');
  const after = cache.get('org', async () => 'linked to B');
  release('linked to A');
  assert.equal(await before, 'linked to A');
  assert.equal(await after, 'linked to B', 'the read after forget did not join the one before it');
  assert.equal(await cache.get('org', async () => 'never read'), 'linked to B', 'and the older read was not cached over it');
  cache.forget('org');
  assert.equal(await cache.get('org', () => Promise.reject(new Error('away'))), 'linked to B', 'forgotten, yet the stand-in while away');
});
