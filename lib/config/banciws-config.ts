import { z } from 'zod';
import { ZILE_PATTERN } from '../anaf/zile';
import { TENANT_PATTERN } from '../temporal/workflow-ids';

/**
 * BANCIWS_INSTITUTIONS: the banks / IFNs this deployment acts for, each owned by one API
 * tenant, each with its inbox poll (a Temporal Schedule) and, optionally, its own client
 * certificate (otherwise the BANCIWS_CLIENT_* / BANCIWS_PFX set is used).
 */

export interface BanciwsInstitution {
  id: string;
  tenant: string;
  /** The institution's CUI, as in its certificate's OU. */
  cui: string;
  name?: string;
  /** listaMesaje window of each inbox poll: `N` days or `XX/24` hours. */
  zile: string;
  /** Inbox poll period; 0 = no inbox schedule. */
  pollEveryMinutes: number;
  /** Where each new inbox item is announced (HMAC-signed webhook). */
  inboxCallbackUrl?: string;
  clientCert?: string;
  clientKey?: string;
  pfx?: string;
  passphrase?: string;
  ca?: string;
}

const institutionSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes'),
    tenant: z.string().regex(TENANT_PATTERN, 'an API tenant'),
    cui: z.string().regex(/^[1-9][0-9]{1,9}$/, 'digits only (no RO prefix)'),
    name: z.string().max(200).optional(),
    zile: z.string().regex(ZILE_PATTERN, 'N days (1–999) or XX/24 hours').default('1'),
    pollEveryMinutes: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 60)
      .default(60),
    inboxCallbackUrl: z.string().url().optional(),
    clientCert: z.string().min(1).optional(),
    clientKey: z.string().min(1).optional(),
    pfx: z.string().min(1).optional(),
    passphrase: z.string().optional(),
    ca: z.string().min(1).optional(),
  })
  .strict()
  .refine((i) => !(i.pfx && (i.clientCert || i.clientKey)), 'give either pfx or clientCert + clientKey')
  .refine((i) => Boolean(i.clientCert) === Boolean(i.clientKey), 'clientCert and clientKey go together');

/** Throws a message (the caller names the variable). */
export function parseBanciwsInstitutions(raw: string | undefined): BanciwsInstitution[] {
  if (!raw) return [];
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error('must be a JSON array of {id, tenant, cui, zile?, pollEveryMinutes?, clientCert?, clientKey?, pfx?, passphrase?, ca?}');
  }
  const r = z.array(institutionSchema).safeParse(json);
  if (!r.success) throw new Error(r.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; '));
  if (new Set(r.data.map((i) => i.id)).size !== r.data.length) throw new Error('institution ids must be unique');
  // A lost upload is matched to ANAF's receipts by taking turns per institution
  // (workflows/banciws/upload-turns.ts). ANAF lists receipts per bank (CUI, from the certificate),
  // so two entries for one bank, or two on the one shared certificate, would see each other's
  // receipts outside those turns and could adopt the other's index.
  const cuis = r.data.map((i) => i.cui);
  const repeated = cuis.find((c, n) => cuis.indexOf(c) !== n);
  if (repeated) throw new Error(`institution CUIs must be unique (${repeated} appears twice): ANAF lists one bank's receipts together`);
  const onSharedCertificate = r.data.filter((i) => !i.clientCert && !i.pfx).map((i) => i.id);
  if (onSharedCertificate.length > 1) {
    throw new Error(
      `at most one institution may use the shared BANCIWS_CLIENT_* / BANCIWS_PFX certificate (${onSharedCertificate.join(', ')} do): give each its own clientCert + clientKey or pfx`,
    );
  }
  return r.data;
}
