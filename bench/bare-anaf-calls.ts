/**
 * The four e-Factura calls an accepted lifecycle makes (upload, stareMesaj, descarcare, and the
 * check of ANAF's signature on the answer) with nothing around them: the bare async loop of the
 * throughput benchmark and the activities of the plain-Temporal floor (bench/floor) both use
 * these, so both baselines do the same HTTP work as the product.
 */
import { request } from 'undici';
import { multipartFormData } from '../activities/anaf/multipart';

export interface BareAnaf {
  base: string;
  token: string;
  supplierCif: string;
}

const auth = (anaf: BareAnaf) => ({ authorization: `Bearer ${anaf.token}` });

export async function bareUpload(anaf: BareAnaf, xml: string): Promise<string> {
  const res = await request(`${anaf.base}/FCTEL/rest/upload?standard=UBL&cif=${anaf.supplierCif}`, {
    method: 'POST',
    headers: { ...auth(anaf), 'content-type': 'text/plain' },
    body: xml,
  });
  const index = /index_incarcare="(\d+)"/.exec(await res.body.text())?.[1];
  if (!index) throw new Error('bare upload: no index');
  return index;
}

/** The download id once ANAF has one, else undefined ("in prelucrare"). */
export async function bareStatus(anaf: BareAnaf, index: string): Promise<string | undefined> {
  const res = await request(`${anaf.base}/FCTEL/rest/stareMesaj?id_incarcare=${index}`, { headers: auth(anaf) });
  return /id_descarcare="(\d+)"/.exec(await res.body.text())?.[1];
}

export async function bareDownload(anaf: BareAnaf, downloadId: string): Promise<number> {
  const res = await request(`${anaf.base}/FCTEL/rest/descarcare?id=${downloadId}`, { headers: auth(anaf) });
  return (await res.body.arrayBuffer()).byteLength;
}

/** ANAF's signature validation (`/api/validate/signature`), as the product calls it after an accepted download. */
export async function bareSignatureCheck(anaf: BareAnaf, invoiceXml: string): Promise<string> {
  const form = multipartFormData([
    { name: 'file', filename: 'factura.xml', contentType: 'text/xml', bytes: Buffer.from(invoiceXml) },
    {
      name: 'signature',
      filename: 'semnatura.xml',
      contentType: 'text/xml',
      bytes: Buffer.from('<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/>'),
    },
  ]);
  const res = await request(new URL('/api/validate/signature', anaf.base).toString(), {
    method: 'POST',
    headers: { ...auth(anaf), 'content-type': form.contentType, accept: 'application/json' },
    body: form.body,
  });
  const { msg } = (await res.body.json()) as { msg?: string };
  if (res.statusCode !== 200 || !msg) throw new Error(`bare signature check answered ${res.statusCode}`);
  return msg;
}
