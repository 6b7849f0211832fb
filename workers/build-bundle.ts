import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from './interceptors';

/** Prebundles workflow code so production workers start without webpack (`npm run bundle`). */
export const BUNDLE_PATH = path.resolve(__dirname, '../dist/workflow-bundle.js');

async function main(target = BUNDLE_PATH): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: quietLogger,
  });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(target, code);
  console.log(`workflow bundle written to ${target} (${(code.length / 1024).toFixed(0)} KiB)`);
}

// webpack's progress chatter is noise in CI logs; warnings and errors still show.
const quietLogger = new DefaultLogger('WARN');

if (require.main === module) {
  main(process.argv[2]).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
