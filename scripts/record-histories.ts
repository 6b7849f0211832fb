/**
 * Records workflow histories for the replay test (test/unit/replay.test.ts):
 *
 *   npm run record-histories [-- --only <service>] [--scenario <name>]… [--overwrite]
 *   npm run record-histories -- --before-patch <patch id>
 *
 * Each service (scripts/histories/<service>.ts) drives its workflows through their paths on a
 * real stack (devkit/stack.ts) and writes test/histories/<name>.json if it is not there
 * yet. Existing histories are what running workflows have, so they are kept; `--overwrite`
 * records them again (only after an intentional, patched workflow change).
 * `--before-patch` records, with the code from the commit before the one that introduced the
 * patch (a git worktree in /tmp, removed afterwards), the scenarios the service lists for it as
 * <service>-pre-patch-<scenario>.json: the histories running workflows of that time have.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startStack, type StackOptions } from '../devkit/stack';
import { banciws } from './histories/banciws';
import { connectivity } from './histories/connectivity';
import { efactura } from './histories/efactura';
import { etransport } from './histories/etransport';
import { oauth } from './histories/oauth';
import { HISTORIES_DIR, recorderFor, type Scenario, type Service } from './histories/recording';

const SERVICES: Record<string, Service> = { connectivity, oauth, efactura, etransport, banciws };
const ROOT = path.resolve(__dirname, '..');

/** Runs the scenarios of one service: one stack for those on the service's stack, one each for those with their own. */
async function record(
  name: string,
  service: Service,
  scenarios: string[],
  options: { prePatch: boolean; overwrite: boolean },
): Promise<void> {
  const prefix = (file: string) => (options.prePatch ? file.replace(`${name}-`, `${name}-pre-patch-`) : file);
  const groups = new Map<StackOptions | undefined, Scenario[]>();
  for (const key of scenarios) {
    const scenario = service.scenarios[key];
    if (!scenario) throw new Error(`${name} has no scenario '${key}' (it has: ${Object.keys(service.scenarios).join(', ')})`);
    const stack = scenario.stack ?? service.stack;
    groups.set(stack, [...(groups.get(stack) ?? []), scenario]);
  }
  for (const [stackOptions, group] of groups) {
    const stack = await startStack(stackOptions);
    try {
      const r = recorderFor(stack, prefix, options.overwrite);
      await service.prepare?.(r);
      for (const scenario of group) await scenario.run(r);
    } finally {
      await stack.close();
    }
  }
}

/** The service and scenarios that record what `patchId` changed, and the commit before the patch. */
function beforePatch(patchId: string): { service: string; scenarios: string[]; commit: string } {
  const entry = Object.entries(SERVICES).find(([, s]) => s.beforePatch?.[patchId]);
  if (!entry) throw new Error(`no service lists scenarios for patch '${patchId}' (Service.beforePatch)`);
  const introduced = execFileSync('git', ['log', '--format=%H', '--reverse', `-S${patchId}`, '--', 'workflows'], {
    cwd: ROOT,
    encoding: 'utf8',
  }).split('\n')[0];
  if (!introduced) throw new Error(`no commit introduced '${patchId}' in workflows/`);
  return { service: entry[0], scenarios: entry[1].beforePatch![patchId]!, commit: `${introduced}^` };
}

/**
 * Runs this recorder (today's scripts/ copied over the old ones) in a worktree of the commit
 * before the patch, writing into this checkout's test/histories.
 */
function recordBeforePatch(patchId: string): void {
  const { service, scenarios, commit } = beforePatch(patchId);
  const worktree = path.join('/tmp', `pre-${patchId}`);
  execFileSync('git', ['worktree', 'add', '--detach', worktree, commit], { cwd: ROOT, stdio: 'inherit' });
  try {
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(worktree, 'node_modules'));
    fs.cpSync(path.join(ROOT, 'scripts/histories'), path.join(worktree, 'scripts/histories'), { recursive: true });
    // A commit from before devkit/ existed (it was test/support then): the recorder needs today's.
    if (!fs.existsSync(path.join(worktree, 'devkit')))
      fs.cpSync(path.join(ROOT, 'devkit'), path.join(worktree, 'devkit'), { recursive: true });
    fs.copyFileSync(__filename, path.join(worktree, 'scripts/record-histories.ts'));
    const args = [
      '--import',
      'tsx',
      'scripts/record-histories.ts',
      '--only',
      service,
      '--pre-patch',
      ...scenarios.flatMap((s) => ['--scenario', s]),
    ];
    execFileSync(process.execPath, args, { cwd: worktree, stdio: 'inherit', env: { ...process.env, RECORD_HISTORIES_OUT: HISTORIES_DIR } });
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', worktree], { cwd: ROOT, stdio: 'inherit' });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      'before-patch': { type: 'string' },
      // Internal: set by --before-patch for the run inside the old worktree.
      'pre-patch': { type: 'boolean' },
      overwrite: { type: 'boolean' },
    },
  });
  if (values['before-patch']) return recordBeforePatch(values['before-patch']);
  if (values.only && !SERVICES[values.only]) throw new Error(`--only: one of ${Object.keys(SERVICES).join(', ')}`);
  for (const [name, service] of Object.entries(SERVICES)) {
    if (values.only && name !== values.only) continue;
    await record(name, service, values.scenario ?? Object.keys(service.scenarios), {
      prePatch: values['pre-patch'] ?? false,
      overwrite: values.overwrite ?? false,
    });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
