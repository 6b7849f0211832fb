import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BlobNotFoundError, FileBlobStore } from '../../lib/blob-store';

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
  await assert.rejects(store.putNamed('acme', '../escape', Buffer.from('x'), 'text/plain'), /malformed document name/);
  await assert.rejects(store.getNamed('../acme', 'x'), /malformed document key/);
});
