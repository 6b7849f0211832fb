/**
 * The three e-Factura calls a lifecycle makes (upload, stareMesaj, descarcare) with nothing
 * around them: the bare async loop of the throughput benchmark and the activities of the
 * plain-Temporal floor (bench/floor) both use these, so both baselines do the same HTTP work.
 */
import { request } from 'undici';

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
