import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BlobNotFoundError, FileBlobStore } from '../../lib/storage/blob-store';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-flow-blobs-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const store = new FileBlobStore(root);

test('content-addressed: the same bytes give the same key; another tenant gets its own', async () => {
  const a = await store.put('acme', Buffer.from('<Invoice/>'), 'application/xml');
  const b = await store.put('acme', Buffer.from('<Invoice/>'), 'application/xml');
  const c = await store.put('globex', Buffer.from('<Invoice/>'), 'application/xml');
  assert.equal(a.key, b.key);
  assert.notEqual(a.key, c.key);
  assert.equal((await store.get(a.key)).toString(), '<Invoice/>');
  await assert.rejects(store.get(`acme/${'f'.repeat(64)}`), BlobNotFoundError);
});

test('named entries: found by name within their tenant only; names and tenants cannot reach outside the store', async () => {
  await store.putNamed('acme', 'efactura-download-3000000123', Buffer.from('PK-zip'), 'application/zip');
  assert.equal((await store.getNamed('acme', 'efactura-download-3000000123'))?.toString(), 'PK-zip');
  assert.equal(await store.getNamed('globex', 'efactura-download-3000000123'), undefined);
  assert.equal(await store.getNamed('acme', 'efactura-download-999'), undefined);
  await assert.rejects(store.getNamed('../acme', 'x'), /malformed document key/);
});

test('names are opaque: whatever an identifier from ANAF holds is stored under it, and cannot reach outside the store', async () => {
  const odd = ['../escape', 'efactura-download-3000000123abc', 'efactura-download-ÿ/..\\x', `efactura-download-${'9'.repeat(300)}`];
  for (const [i, name] of odd.entries()) {
    await store.putNamed('acme', name, Buffer.from(`doc-${i}`), 'application/zip');
    assert.equal((await store.getNamed('acme', name))?.toString(), `doc-${i}`, name);
  }
  assert.equal(await store.getNamed('acme', 'escape'), undefined);
  // Every entry stayed in the tenant's own names directory.
  const names = fs.readdirSync(path.join(root, 'acme', 'names'));
  assert.ok(
    fs.readdirSync(root).every((f) => ['acme', 'globex'].includes(f)),
    'nothing written beside the tenants',
  );
  assert.ok(names.length >= odd.length);
});

test('a directory removed by hand after the store made it is made again on the next write', async () => {
  const own = new FileBlobStore(fs.mkdtempSync(path.join(os.tmpdir(), 'anaf-flow-blobs-gone-')));
  const first = await own.put('initech', Buffer.from('<Invoice>1</Invoice>'), 'application/xml');
  await own.putNamed('initech', 'efactura-download-1', Buffer.from('PK-1'), 'application/zip');
  fs.rmSync(path.dirname(path.dirname(own['pathOf'](first.key))), { recursive: true, force: true });
  const again = await own.put('initech', Buffer.from('<Invoice>1</Invoice>'), 'application/xml');
  assert.equal((await own.get(again.key)).toString(), '<Invoice>1</Invoice>');
  await own.putNamed('initech', 'efactura-download-1', Buffer.from('PK-1'), 'application/zip');
  assert.equal((await own.getNamed('initech', 'efactura-download-1'))?.toString(), 'PK-1');
});
