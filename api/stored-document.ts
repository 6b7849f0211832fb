import type { Response } from 'express';
import { BlobNotFoundError, type BlobRef } from '../lib/storage/blob-store';
import type { ApiContext } from './context';
import { ApiError } from './errors';

/** Sends a stored document as an attachment, with its hash; 404 DOCUMENT_NOT_AVAILABLE when there is none (yet). */
export async function sendStoredDocument(
  ctx: ApiContext,
  res: Response,
  ref: BlobRef | undefined,
  what: string,
  filename: string,
): Promise<void> {
  if (!ref) throw new ApiError(404, 'DOCUMENT_NOT_AVAILABLE', `${what} is not available (yet)`);
  let bytes: Buffer;
  try {
    bytes = await ctx.blobs.get(ref.key);
  } catch (err) {
    if (err instanceof BlobNotFoundError) throw new ApiError(404, 'DOCUMENT_NOT_AVAILABLE', `${what} is no longer stored`);
    throw err;
  }
  res
    .status(200)
    .type(ref.contentType)
    .set('content-disposition', `attachment; filename="${filename}"`)
    .set('x-content-sha256', ref.sha256)
    .send(bytes);
}
