import type { SignatureCheckFields } from '../schemas/efactura-types';
import { z } from './zod';

/** The check's fields on a view (SignatureCheckFields), for the API's schemas and presenters. */
export const SignatureCheckSchemaFields = {
  signatureValid: z
    .boolean()
    .optional()
    .openapi({ description: "ANAF's verdict on its signature (validaresemnatura); absent until checked or when the check failed" }),
  signatureCheckedAt: z.string().optional(),
  signatureMessage: z.string().optional().openapi({ description: "ANAF's words" }),
  signatureCheckError: z.string().optional().openapi({ description: 'Why the check gave no verdict (recorded, never fatal)' }),
};
export const SIGNATURE_CHECK_KEYS = [
  'signatureValid',
  'signatureCheckedAt',
  'signatureMessage',
  'signatureCheckError',
] as const satisfies ReadonlyArray<keyof SignatureCheckFields>;
