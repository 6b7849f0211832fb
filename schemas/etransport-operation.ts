import type { BlobStore } from '../lib/storage/blob-store';
import type { PreparedOperation } from '../workflows/etransport/types';
import { type DeclarationInspection, inspectDeclarationXml } from './etransport-declaration';

/**
 * Checks a declaration document (a notification or a follow-up) and stores it: what the API
 * (POST …/operations) and the Web UI's follow-up signal (an orchestration activity) share.
 * Here rather than in activities/ so the API does not load activity code for it.
 */
export async function prepareOperation(
  blobs: BlobStore,
  tenant: string,
  xml: Buffer,
  requestKey?: string,
  /** The API passes its off-thread check (api/untrusted-xml-checks.ts); an activity checks in place. */
  inspect: (xml: Buffer) => DeclarationInspection | Promise<DeclarationInspection> = inspectDeclarationXml,
): Promise<PreparedOperation | { invalid: string; message: string }> {
  const inspected = await inspect(xml);
  if (!inspected.ok) return { invalid: inspected.code, message: inspected.message };
  const document = await blobs.put(tenant, xml, 'application/xml');
  return {
    kind: inspected.kind,
    document,
    identity: inspected.identity,
    ...(inspected.uit ? { uit: inspected.uit } : {}),
    ...(inspected.confirmationType ? { confirmationType: inspected.confirmationType } : {}),
    ...(requestKey ? { requestKey } : {}),
  };
}
