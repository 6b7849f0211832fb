import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './product-process';

/**
 * Workflow code bundled once per `npm test` run (scripts/run-tests.mjs sets
 * ANAF_FLOW_TEST_WORKFLOW_BUNDLE) instead of once per test file's worker.
 */
export function prebuiltWorkflowBundle(): { codePath: string } | undefined {
  const codePath = process.env.ANAF_FLOW_TEST_WORKFLOW_BUNDLE;
  return codePath ? { codePath } : undefined;
}

/** A bundle file for worker processes: the run's prebuilt one when it exists, else one built into `dir`. */
export function workflowBundleFile(dir: string): string {
  const prebuilt = process.env.ANAF_FLOW_TEST_WORKFLOW_BUNDLE;
  if (prebuilt && fs.existsSync(prebuilt)) return prebuilt;
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  const bundled = spawnSync(process.execPath, ['--import', 'tsx', 'workers/build-bundle.ts', bundlePath], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
  });
  if (bundled.status !== 0) throw new Error('could not bundle the workflow code');
  return bundlePath;
}
