import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { WORKER_STALLED_EXIT_CODE } from '../workers/stall-watchdog';

export const REPO_ROOT = path.resolve(__dirname, '..');

/**
 * One of the product's processes as production starts it (`node --import tsx <script>` from
 * the repository root), its output piped for the caller to log or watch. `npm run dev` and the
 * process harness both start theirs here.
 */
export function spawnProductProcess(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Its watchdog found the workflow side wedged (workers/stall-watchdog.ts): a supervisor starts a fresh one. */
export function exitedWedged(code: number | null): boolean {
  return code === WORKER_STALLED_EXIT_CODE;
}
