import type { SandboxPki } from './certificates';

export interface BanciwsSandboxOptions {
  /** HTTPS port of the F5 front; 0 picks a free one (tests). */
  tlsPort: number;
  host: string;
  /** CA + server certificate; generated per start when absent (tests), read from DATA_DIR by `npm run dev`. */
  pki?: SandboxPki;
  /** An APM session unused this long is gone (F5's inactivity timeout). */
  sessionIdleMs: number;
  /** Every Nth call through a live session gets a /my.policy_nonce revalidation hop first; 0 never. */
  revalidateEvery: number;
  /** Without a (valid) certificate at /my.policy: the HTML page (200) or a redirect to /vdesk/hangup.php3. */
  noCertificate: 'page' | 'hangup';
  /** stareMesaj answers "processing" (1) this long after an upload. */
  processingDelayMs: number;
  /** An upload's receipt shows in listaMesaje this long after it. */
  listingDelayMs: number;
  /** Every this often, each institution that has logged in gets a new request from ANAF in its inbox; 0 never. */
  inboxEveryMs: number;
  /**
   * Highest TLS version the front offers. Default TLS 1.2 (the F5 renegotiates to ask for the
   * certificate); TLSv1.3 plays a gateway that also offers 1.3, where renegotiation does not exist.
   */
  tlsMaxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Sandbox only (tests): the gateway's login redirect points at this origin instead of its own. */
  offOriginRedirect?: string;
}

export const DEFAULT_BANCIWS_OPTIONS: BanciwsSandboxOptions = {
  tlsPort: 9443,
  host: '127.0.0.1',
  sessionIdleMs: 15 * 60_000,
  revalidateEvery: 0,
  noCertificate: 'page',
  processingDelayMs: 3_000,
  listingDelayMs: 0,
  inboxEveryMs: 0,
};
