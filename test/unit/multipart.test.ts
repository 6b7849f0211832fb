import assert from 'node:assert/strict';
import { test } from 'node:test';
import { multipartFormData } from '../../activities/anaf/multipart';

test('multipart/form-data written directly reads back, part by part and byte for byte, with a standard parser', async () => {
  const invoice = Buffer.from('<?xml version="1.0"?>\r\n<Invoice>ăîșț --x\r\n--</Invoice>\r\n');
  const signature = Buffer.concat([Buffer.from('<Signature>'), Buffer.from([0, 255, 13, 10, 45, 45]), Buffer.from('</Signature>')]);
  const { body, contentType } = multipartFormData([
    { name: 'file', filename: 'factura.xml', contentType: 'text/xml', bytes: invoice },
    { name: 'signature', filename: 'semnatura.xml', contentType: 'text/xml', bytes: signature },
  ]);
  const form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
  const file = form.get('file') as File;
  const sig = form.get('signature') as File;
  assert.equal(file.name, 'factura.xml');
  assert.equal(sig.name, 'semnatura.xml');
  assert.equal(file.type, 'text/xml');
  assert.deepEqual(Buffer.from(await file.arrayBuffer()), invoice);
  assert.deepEqual(Buffer.from(await sig.arrayBuffer()), signature);
  assert.deepEqual([...form.keys()], ['file', 'signature']);
});

test('part names that could break the header are refused', () => {
  assert.throws(
    () => multipartFormData([{ name: 'a"; x="', filename: 'f.xml', contentType: 'text/xml', bytes: Buffer.from('') }]),
    /unsafe part name/,
  );
});
