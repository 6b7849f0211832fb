import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { DEV_BANCIWS_CUI } from '../../sandbox/banciws/dev-pki';
import { OPERATOR } from '../../devkit/config';
import { type DocStep, docSteps, mismatch } from '../../devkit/doc-commands';
import { banciwsStackConfig } from '../../devkit/fixtures/banciws';
import { walkAuthorizePage } from '../../devkit/oauth-walk';
import { type Stack, startStack } from '../../devkit/stack';
import { eventually } from '../../devkit/wait';

/**
 * Every ```sh command of README.md and docs/*.md, run as written against a real stack (dev
 * server, workers, API, sandbox) with the variables `npm run dev`'s summary gives a reader:
 * each must exit 0, every HTTP answer curl gets must be < 400 unless the page says otherwise,
 * and a `# → …` answer must match (a read whose answer comes later is repeated, for up to
 * 45 s). The convention is in docs/development.md ("Commands in the docs are tested").
 */

const ROOT = path.join(__dirname, '../..');
const DEV_KEY = 'dev-docs-key-0123456789abcdef';
const RETRY_MS = 45_000;
const PAGES = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  statuses: number[];
}

/** One command in bash, with the page's variables so far (kept in `stateFile`) and curl reporting each answer's status. */
function runCommand(command: string, env: NodeJS.ProcessEnv, cwd: string, stateFile: string): Promise<Ran> {
  const script = [
    'set -a',
    `. "${stateFile}"`,
    'set -euo pipefail',
    `curl() { command curl -w '%{stderr}\\n@@HTTP %{http_code}\\n' "$@"; }`,
    `{ ${command}`,
    '}',
    `export -p | grep -vE '^declare -x (PWD|OLDPWD|SHLVL|_)=' > "${stateFile}"`,
  ].join('\n');
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { cwd, env, timeout: RETRY_MS, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const statuses = [...stderr.matchAll(/^@@HTTP (\d{3})$/gm)].map((m) => Number(m[1]));
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr, statuses });
    });
  });
}

function failureOf(step: Extract<DocStep, { kind: 'command' }>, ran: Ran): string | undefined {
  if (ran.code !== 0)
    return `exit ${ran.code}: ${ran.stderr
      .replace(/^@@HTTP.*$/gm, '')
      .trim()
      .slice(0, 500)}`;
  const allowed = step.expect?.status && step.expect.status >= 400 ? step.expect.status : 399;
  const refused = ran.statuses.filter((s) => s > allowed || s === 0);
  if (refused.length) return `HTTP ${refused.join(', ')}: ${ran.stdout.slice(0, 500)}`;
  return step.expect ? mismatch(step.expect, ran.stdout, ran.statuses.at(-1)) : undefined;
}

/** What a browser does with an authorization request's link: ANAF's page, Approve, back to our callback. */
async function approveInBrowser(previousAnswer: string): Promise<void> {
  const url = new URL((JSON.parse(previousAnswer) as { url: string }).url);
  const walked = await walkAuthorizePage(url.origin, {
    clientId: url.searchParams.get('client_id')!,
    redirectUri: url.searchParams.get('redirect_uri')!,
    state: url.searchParams.get('state')!,
    decision: 'approve',
  });
  const res = await request(walked.location.toString());
  const page = await res.body.text();
  assert.equal(res.statusCode, 200, `the callback answered ${res.statusCode}: ${page.slice(0, 300)}`);
}

async function runPage(page: string, env: NodeJS.ProcessEnv, work: string): Promise<void> {
  const steps = docSteps(fs.readFileSync(path.join(ROOT, page), 'utf8'));
  const stateFile = path.join(work, `${page.replace(/\W/g, '_')}.env`);
  fs.writeFileSync(stateFile, '');
  let previous = '';
  for (const step of steps) {
    if (step.kind === 'browser') {
      await approveInBrowser(previous);
      continue;
    }
    const last = await eventually(
      async () => {
        const ran = await runCommand(step.command, env, work, stateFile);
        previous = ran.stdout;
        return { failure: failureOf(step, ran), code: ran.code, answer: ran.stdout.slice(0, 800) };
      },
      // Only a promised answer is waited for (a read of something still being processed); anything else fails at once.
      ({ failure, code }) => !failure || !step.expect || code !== 0,
      `${page}:${step.line}: ${step.command}`,
      RETRY_MS,
    );
    if (last.failure) assert.fail(`${page}:${step.line}: ${step.command}\n→ ${last.failure}\nanswer: ${last.answer}`);
  }
}

describe('the commands in README.md and docs/ run as written', () => {
  let stack: Stack;
  let env: NodeJS.ProcessEnv;
  let work: string;

  before(async () => {
    stack = await startStack({
      sandbox: { efactura: { processingDelayMs: 300 }, banciws: { tlsPort: 0, processingDelayMs: 300 } },
      configOverrides: { API_KEYS: `dev:${DEV_KEY}` },
      configFromSandbox: banciwsStackConfig([{ id: 'banca-dev', tenant: 'dev', cui: DEV_BANCIWS_CUI }]),
    });
    // Commands run from a scratch directory (their -o files land there) that sees the repository's examples/.
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'docs-commands-'));
    fs.symlinkSync(path.join(ROOT, 'examples'), path.join(work, 'examples'));
    env = { ...process.env, API: stack.apiUrl, KEY: DEV_KEY, OPERATOR_KEY: OPERATOR.key, SANDBOX: stack.sandbox.url };
  });

  after(async () => {
    await stack?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  for (const page of PAGES) {
    test(page, { timeout: 120_000 }, async () => {
      await runPage(page, env, work);
    });
  }
});
