import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ApiCallError, ApiClient } from './api-client';

/**
 * `npx anaf-flow …`: the operator's CLI over the public API (never Temporal directly, so it
 * sees exactly what an ERP sees and needs only an API key). Exit codes: 0 ok, 1 the case
 * ended badly (rejected, failed, cancelled), 2 usage or API error.
 */

const EXIT = { OK: 0, CASE_FAILED: 1, USAGE_OR_API: 2 } as const;

interface SubmissionState {
  id: string;
  status: string;
  stage: string;
  outcome?: string;
  uploadIndex?: string;
  anafState?: string;
  needsAttention?: boolean;
  attentionReason?: string;
  statusChecks?: number;
  errors?: string[];
}

interface GlobalOptions {
  api: string;
  key?: string;
  operatorKey?: string;
  json?: boolean;
}

const program = new Command('anaf-flow')
  .description('Operate anaf-flow through its API: submit invoices, follow, list, authorize, resolve stuck cases')
  .addOption(new Option('--api <url>', 'API base URL').env('ANAF_FLOW_API').default('http://localhost:8080'))
  .addOption(new Option('--key <apiKey>', 'API key of the tenant').env('ANAF_FLOW_API_KEY'))
  .addOption(new Option('--operator-key <key>', 'operator key (OPERATOR_API_KEYS), for resolve and retry').env('ANAF_FLOW_OPERATOR_KEY'))
  .option('--json', 'print JSON instead of text')
  .showHelpAfterError()
  .exitOverride();

function globals(): GlobalOptions {
  return program.opts<GlobalOptions>();
}

function client(): ApiClient {
  const { api, key } = globals();
  if (!key) throw new CommanderError(EXIT.USAGE_OR_API, 'anaf-flow.noKey', 'error: an API key is needed (--key or ANAF_FLOW_API_KEY)');
  return new ApiClient({ baseUrl: api, apiKey: key });
}

/** Decisions on stuck cases (resolve, retry) are an operator's: the API takes an operator key there, never a tenant's. */
function operatorClient(): ApiClient {
  const { api, operatorKey } = globals();
  if (!operatorKey) {
    throw new CommanderError(
      EXIT.USAGE_OR_API,
      'anaf-flow.noOperatorKey',
      'error: an operator key is needed (--operator-key or ANAF_FLOW_OPERATOR_KEY)',
    );
  }
  return new ApiClient({ baseUrl: api, apiKey: operatorKey });
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
const item = (id: string) => `/v1/efactura/invoices/${encodeURIComponent(id)}`;

function describeSubmission(s: SubmissionState): string {
  const parts = [s.id, s.outcome ?? s.stage];
  if (s.uploadIndex) parts.push(`index ${s.uploadIndex}`);
  if (s.anafState) parts.push(`ANAF ${s.anafState}`);
  if (s.needsAttention) parts.push(`NEEDS ATTENTION${s.attentionReason ? `: ${s.attentionReason}` : ''}`);
  return parts.join('  ');
}

function exitCodeFor(s: SubmissionState): number {
  if (s.status === 'RUNNING') return EXIT.OK;
  return s.outcome === 'ACCEPTED' ? EXIT.OK : EXIT.CASE_FAILED;
}

function printResult(s: SubmissionState): void {
  if (globals().json) out(JSON.stringify(s, null, 2));
  else {
    out(describeSubmission(s));
    for (const e of s.errors ?? []) out(`  ANAF: ${e}`);
  }
}

/** Polls GET with backoff (0.5 s growing to 10 s) and prints each stage change until the case ends or `timeoutMs` passes. */
async function follow(api: ApiClient, id: string, timeoutMs: number | undefined): Promise<SubmissionState> {
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  let delay = 500;
  let last = '';
  for (;;) {
    const s = await api.call<SubmissionState>('GET', item(id));
    const shown = `${s.stage}${s.uploadIndex ? ` (index ${s.uploadIndex})` : ''}${s.needsAttention ? ' — needs attention' : ''}`;
    if (shown !== last) {
      progress(shown);
      if (s.stage === 'NEEDS_OPERATOR') progress(`decide with: anaf-flow resolve ${id} --adopt <index> | --reupload | --abandon`);
      last = shown;
      delay = 500;
    }
    if (s.status !== 'RUNNING') return s;
    if (Date.now() >= deadline) {
      progress('still running; stopped waiting (the case goes on)');
      return s;
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 1.5, 10_000);
  }
}

const seconds = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CommanderError(
      EXIT.USAGE_OR_API,
      'anaf-flow.badTimeout',
      `error: --timeout must be a positive number of seconds, got "${v}"`,
    );
  return n * 1000;
};

program
  .command('submit')
  .description('Submit an invoice XML file to e-Factura; prints the submission id')
  .argument('<file>', 'the invoice XML')
  .requiredOption('--cif <cif>', 'CIF of the seller (the organization authorized at ANAF)')
  .addOption(new Option('--standard <standard>', 'UBL, CN, CII or RASP').choices(['UBL', 'CN', 'CII', 'RASP']).default('UBL'))
  .option(
    '--idempotency-key <key>',
    'names the submission; default: derived from CIF, standard and file content, so repeating the command never files twice',
  )
  .option('--b2c', "ANAF's uploadb2c")
  .option('--extern', 'foreign buyer')
  .option('--autofactura', 'self-billing')
  .option('--executare', 'enforcement')
  .option('--callback-url <url>', 'webhook when the submission ends')
  .option('--wait', 'follow the stages until the submission ends')
  .option('--timeout <seconds>', 'stop waiting after this long', seconds)
  .action(
    async (
      file: string,
      o: {
        cif: string;
        standard: string;
        idempotencyKey?: string;
        b2c?: boolean;
        extern?: boolean;
        autofactura?: boolean;
        executare?: boolean;
        callbackUrl?: string;
        wait?: boolean;
        timeout?: number;
      },
    ) => {
      let xml: Buffer;
      try {
        xml = fs.readFileSync(file);
      } catch (err) {
        throw new CommanderError(EXIT.USAGE_OR_API, 'anaf-flow.file', `error: cannot read ${file}: ${(err as Error).message}`);
      }
      const key =
        o.idempotencyKey ?? `cli-${createHash('sha256').update(`${o.cif}\n${o.standard}\n`).update(xml).digest('hex').slice(0, 40)}`;
      const query = new URLSearchParams({ cif: o.cif, standard: o.standard });
      for (const flag of ['b2c', 'extern', 'autofactura', 'executare'] as const) if (o[flag]) query.set(flag, 'true');
      if (o.callbackUrl) query.set('callbackUrl', o.callbackUrl);
      const api = client();
      const started = await api.call<{ id: string; status: string }>('POST', `/v1/efactura/invoices?${query}`, {
        xml,
        headers: { 'idempotency-key': key },
      });
      if (!o.wait) {
        out(globals().json ? JSON.stringify(started) : started.id);
        return;
      }
      progress(`submitted ${started.id}`);
      const final = await follow(api, started.id, o.timeout);
      printResult(final);
      process.exitCode = exitCodeFor(final);
    },
  );

program
  .command('status')
  .description('Show one submission (exit 1 if it ended rejected, failed or cancelled)')
  .argument('<id>', 'submission id, e.g. acme/efactura/erp-inv-1')
  .option('--wait', 'follow the stages until it ends')
  .option('--timeout <seconds>', 'stop waiting after this long', seconds)
  .action(async (id: string, o: { wait?: boolean; timeout?: number }) => {
    const api = client();
    const s = o.wait ? await follow(api, id, o.timeout) : await api.call<SubmissionState>('GET', item(id));
    printResult(s);
    process.exitCode = exitCodeFor(s);
  });

program
  .command('list')
  .description("List the tenant's submissions, newest first")
  .option('--cif <cif>')
  .option('--stage <stage>')
  .option('--outcome <outcome>')
  .option('--needs-attention', 'only those waiting for a human')
  .option('--upload-index <index>')
  .option('--limit <n>', 'at most this many', '50')
  .action(async (o: { cif?: string; stage?: string; outcome?: string; needsAttention?: boolean; uploadIndex?: string; limit: string }) => {
    const query = new URLSearchParams({ limit: o.limit });
    if (o.cif) query.set('cif', o.cif);
    if (o.stage) query.set('stage', o.stage);
    if (o.outcome) query.set('outcome', o.outcome);
    if (o.uploadIndex) query.set('uploadIndex', o.uploadIndex);
    if (o.needsAttention) query.set('needsAttention', 'true');
    const page = await client().call<{ items: Array<SubmissionState & { cif?: string; startedAt?: string }> }>(
      'GET',
      `/v1/efactura/invoices?${query}`,
    );
    if (globals().json) return out(JSON.stringify(page, null, 2));
    for (const s of page.items)
      out([s.startedAt ?? '', s.cif ?? '', s.outcome ?? s.stage ?? s.status, s.uploadIndex ?? '', s.id].join('\t'));
    if (page.items.length === 0) progress('no submissions match');
  });

/** `authorize --companies …`: one sign-in not tied to a company (POST /v1/authorization-requests). */
async function signInForCompanies(api: ApiClient, o: { scope: string; companies?: string; label?: string }): Promise<void> {
  const organizations = (o.companies ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  const created = await api.call<{ id: string; authorizationId: string; url: string; shortUrl: string; expiresAt: string }>(
    'POST',
    '/v1/authorization-requests',
    {
      json: { scope: o.scope, organizations, ...(o.label ? { label: o.label } : {}) },
    },
  );
  if (globals().json) return out(JSON.stringify(created));
  out(created.shortUrl);
  progress(
    `authorization ${created.authorizationId}: open the URL above and sign in at ANAF (valid until ${created.expiresAt}); then: anaf-flow authorizations`,
  );
}

interface AuthorizationRow {
  id: string;
  label: string | null;
  scopes: string[];
  companies: Array<{ cif: string; scope: string }>;
  status: string;
  accessTokenExpiresAt: string | null;
  refreshTokenExpiresAt: string | null;
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : '-');

program
  .command('authorizations')
  .description("List the tenant's authorizations (sign-ins): companies, scopes, state, access/refresh token expiry")
  .option('--cif <cif>', 'only those serving this company')
  .action(async (o: { cif?: string }) => {
    const { items } = await client().call<{ items: AuthorizationRow[] }>(
      'GET',
      `/v1/authorizations${o.cif ? `?cif=${encodeURIComponent(o.cif)}` : ''}`,
    );
    if (globals().json) return out(JSON.stringify(items, null, 2));
    const rows = items.map((a) => [
      a.id,
      a.label ?? '-',
      a.scopes.join('+'),
      [...new Set(a.companies.map((c) => c.cif))].join(',') || '-',
      a.status,
      day(a.accessTokenExpiresAt),
      day(a.refreshTokenExpiresAt),
    ]);
    const head = ['ID', 'LABEL', 'SCOPES', 'COMPANIES', 'STATUS', 'ACCESS', 'REFRESH'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    for (const r of [head, ...rows])
      out(
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd(),
      );
    if (items.length === 0) progress('no authorizations');
  });

program
  .command('authorize')
  .description('Start an ANAF sign-in; prints the URL the person opens. One company: <cif>. Many (one sign-in for all): --companies')
  .argument('[cif]')
  .addOption(new Option('--scope <scope>').choices(['EFACTURA', 'ETRANSPORT', 'BOTH']).default('EFACTURA'))
  .option('--companies <cifs>', 'comma-separated registered CIFs to link after one sign-in (each checked at ANAF)')
  .option('--label <label>', 'who signs in (with --companies)')
  .option('--name <name>', 'register the organization first under this name, if it is not yet')
  .option('--wait', 'wait until the authorization is ACTIVE')
  .option('--timeout <seconds>', 'stop waiting after this long', seconds)
  .action(
    async (
      cif: string | undefined,
      o: { scope: string; companies?: string; label?: string; name?: string; wait?: boolean; timeout?: number },
    ) => {
      const api = client();
      if (o.companies !== undefined) return signInForCompanies(api, o);
      if (!cif || o.scope === 'BOTH') {
        throw new CommanderError(
          EXIT.USAGE_OR_API,
          'anaf-flow.authorize',
          'error: give a <cif> (EFACTURA or ETRANSPORT), or --companies <cif,cif,…>',
        );
      }
      if (o.name) {
        try {
          await api.call('POST', '/v1/organizations', { json: { cif, name: o.name } });
        } catch (err) {
          if (!(err instanceof ApiCallError && err.code === 'ORGANIZATION_EXISTS')) throw err;
        }
      }
      const created = await api.call<{ url: string; shortUrl: string; expiresAt: string }>(
        'POST',
        `/v1/organizations/${encodeURIComponent(cif)}/authorization-requests`,
        {
          json: { scope: o.scope },
        },
      );
      out(globals().json ? JSON.stringify(created) : (created.shortUrl ?? created.url));
      if (!o.wait) return;
      progress(`open the URL above and approve at ANAF (valid until ${created.expiresAt}); waiting…`);
      const deadline = o.timeout === undefined ? Infinity : Date.now() + o.timeout;
      let delay = 1000;
      let last = '';
      for (;;) {
        const { items } = await api.call<{ items: Array<{ scope: string; status: string }> }>(
          'GET',
          `/v1/organizations/${encodeURIComponent(cif)}/authorizations`,
        );
        const status = items.find((a) => a.scope === o.scope)?.status ?? 'NOT_YET';
        if (status !== last) progress(`${o.scope}: ${status}`);
        last = status;
        if (status === 'ACTIVE') return;
        if (Date.now() >= deadline) {
          process.exitCode = EXIT.CASE_FAILED;
          return progress('not authorized yet; stopped waiting');
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 1.5, 10_000);
      }
    },
  );

async function resolve(id: string, body: Record<string, string>): Promise<void> {
  const s = await operatorClient().call<SubmissionState>('POST', `${item(id)}/resolve`, { json: body });
  printResult(s);
}

program
  .command('resolve')
  .description('Decide a stuck submission (NEEDS_OPERATOR): adopt an upload index, upload again, or abandon')
  .argument('<id>')
  .option('--adopt <index>', 'the upload index at ANAF that is this invoice')
  .option('--reupload', 'upload again (only when sure ANAF does not have it)')
  .option('--abandon', 'give up: the submission ends FAILED')
  .option('--note <text>', 'why, for the audit trail')
  .action(async (id: string, o: { adopt?: string; reupload?: boolean; abandon?: boolean; note?: string }) => {
    const chosen = [o.adopt !== undefined, Boolean(o.reupload), Boolean(o.abandon)].filter(Boolean).length;
    if (chosen !== 1)
      throw new CommanderError(EXIT.USAGE_OR_API, 'anaf-flow.resolve', 'error: give exactly one of --adopt <index>, --reupload, --abandon');
    const note = o.note ? { note: o.note } : {};
    if (o.adopt !== undefined) return resolve(id, { action: 'ADOPT_INDEX', uploadIndex: o.adopt, ...note });
    return resolve(id, { action: o.reupload ? 'REUPLOAD' : 'ABANDON', ...note });
  });

program
  .command('retry')
  .description('Upload a stuck submission again (same as resolve --reupload)')
  .argument('<id>')
  .option('--note <text>')
  .action((id: string, o: { note?: string }) => resolve(id, { action: 'REUPLOAD', note: o.note ?? 'retry from the CLI' }));

program
  .command('cancel')
  .description('Cancel a submission not yet sent to ANAF')
  .argument('<id>')
  .action(async (id: string) => printResult(await client().call<SubmissionState>('DELETE', item(id))));

program
  .command('download')
  .description("Save a document of a submission: ANAF's answer ZIP, the filed invoice or the signature")
  .argument('<id>')
  .addOption(new Option('--what <document>').choices(['zip', 'invoice.xml', 'submitted.xml', 'signature.xml']).default('zip'))
  .requiredOption('-o, --output <file>', 'where to write it')
  .action(async (id: string, o: { what: string; output: string }) => {
    const { body } = await client().raw('GET', `${item(id)}/${o.what}`);
    fs.writeFileSync(o.output, body);
    progress(`${o.output}: ${body.length} bytes`);
  });

async function main(argv: string[]): Promise<number> {
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.OK; // --help, --version
      if (!err.code.startsWith('commander.')) process.stderr.write(`${err.message}\n`);
      return EXIT.USAGE_OR_API;
    }
    if (err instanceof ApiCallError) {
      process.stderr.write(`error: ${err.code}${err.status ? ` (HTTP ${err.status})` : ''}: ${err.message}\n`);
      return EXIT.USAGE_OR_API;
    }
    process.stderr.write(`error: ${(err as Error).message}\n`);
    return EXIT.USAGE_OR_API;
  }
}

main(process.argv).then((code) => process.exit(code));
