import type { Client } from '@temporalio/client';
import type { BlobStore } from '../../lib/storage/blob-store';
import type { AppConfig } from '../../lib/config/config';
import type { TokenSealer } from '../../lib/crypto/token-seal';
import type { DailyQuotaGuard } from '../../lib/anaf/anaf-daily-quotas';
import type { AnafApiEnvironment } from '../../lib/anaf/anaf-environments';
import type { OrganizationMemos } from '../../services/clients/organization-memo';

/** What the e-Factura activities are built from, and whom a call is for (calls.ts and index.ts both need them). */
export interface EfacturaActivityDeps {
  config: Pick<AppConfig, 'anaf'>;
  client: Client;
  sealer: TokenSealer;
  blobs: BlobStore;
  /** The worker process's one guard of ANAF's per-CUI daily quotas, shared by every e-Factura client it builds. */
  quotas: DailyQuotaGuard;
  /** The process's one reader of organizations' memos (token routing, ANAF environment). */
  organizations: OrganizationMemos;
}

export interface EfacturaTarget {
  tenant: string;
  cif: string;
  /** An upload's lifecycle: the environment it was sent to (fixed at its start); absent in older workflows. */
  anafEnvironment?: AnafApiEnvironment;
}
