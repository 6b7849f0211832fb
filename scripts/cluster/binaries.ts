import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findOnPath } from '../../lib/temporal/temporal-binaries';

/**
 * The Temporal server the cluster runs, built from the Go module proxy (the only place these
 * machines can get it) and cached by version outside the repository. docker-compose.yml runs the
 * same version (temporalio/server and temporalio/admin-tools images): test/unit/compose-version.test.ts.
 */
export const TEMPORAL_SERVER_VERSION = '1.32.2';
/** The server's go.mod wants at least this Go; GOTOOLCHAIN fetches it through the proxy. */
export const GO_TOOLCHAIN = 'go1.26.10';

export interface ServerBinaries {
  dir: string;
  server: string;
  /** The schema tool (package tools/sql). */
  sqlTool: string;
  /** The server module's schema/postgresql/v12 (temporal/ and visibility/, each with versioned/). */
  postgresSchemas: string;
}

export function binariesDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.ANAF_FLOW_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'anaf-flow');
  return path.join(cache, `temporal-${TEMPORAL_SERVER_VERSION}`);
}

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A build step, bounded (a hung module download must not hang `npm run cluster` for ever). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string, timeoutMs = 45 * 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a');
    const child = spawn(command, args, { env, stdio: ['ignore', out, out] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fs.closeSync(out);
      if (code === 0) resolve();
      else
        reject(
          new Error(
            `${command} ${args.join(' ')} ${signal === 'SIGKILL' ? `did not finish within ${timeoutMs / 60_000} min` : `exited with ${code}`}; see ${logFile}`,
          ),
        );
    });
  });
}

/** The SQL schema files ship in the server module (which the build put in Go's module cache), not in the tool. */
function copySchemas(go: string, target: string): void {
  const r = spawnSync(go, ['mod', 'download', '-json', `go.temporal.io/server@v${TEMPORAL_SERVER_VERSION}`], {
    cwd: os.tmpdir(),
    encoding: 'utf8',
    env: { ...process.env, GOTOOLCHAIN: GO_TOOLCHAIN },
    timeout: 300_000,
  });
  const dir = r.status === 0 ? (JSON.parse(r.stdout) as { Dir?: string }).Dir : undefined;
  if (!dir)
    throw new Error(`go mod download go.temporal.io/server@v${TEMPORAL_SERVER_VERSION} failed: ${(r.stderr || r.stdout).slice(-500)}`);
  fs.cpSync(path.join(dir, 'schema', 'postgresql', 'v12'), target, { recursive: true });
}

/**
 * The cached binaries, built first when missing: `go install` of the server and of the schema
 * tool into a scratch directory, moved into the cache only when both are whole (a killed build
 * leaves nothing half-made behind).
 */
export async function ensureServerBinaries(log: (line: string) => void): Promise<ServerBinaries> {
  const dir = binariesDir();
  const wanted: ServerBinaries = {
    dir,
    server: path.join(dir, 'server'),
    sqlTool: path.join(dir, 'temporal-sql-tool'),
    postgresSchemas: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
  // A build made by hand names the schema tool after its package: `sql`.
  if (!executable(wanted.sqlTool) && executable(path.join(dir, 'sql'))) fs.copyFileSync(path.join(dir, 'sql'), wanted.sqlTool);
  if (executable(wanted.server) && executable(wanted.sqlTool) && fs.existsSync(wanted.postgresSchemas)) return wanted;

  const go = findOnPath('go') ?? (executable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new Error('Go is needed to build the Temporal server once (apt-get install golang-go, or put go on PATH)');
  fs.mkdirSync(dir, { recursive: true });
  if (executable(wanted.server) && executable(wanted.sqlTool)) {
    copySchemas(go, wanted.postgresSchemas);
    return wanted;
  }
  const scratch = fs.mkdtempSync(path.join(dir, '.build-'));
  const logFile = path.join(dir, 'build.log');
  log(`building Temporal server ${TEMPORAL_SERVER_VERSION} from the Go module proxy: ~10 minutes, once (cached in ${dir}; log ${logFile})`);
  const env = { ...process.env, GOTOOLCHAIN: GO_TOOLCHAIN, GOBIN: scratch, CGO_ENABLED: '0' };
  try {
    await run(go, ['install', `go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION}`], env, logFile);
    await run(go, ['install', `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`], env, logFile);
    copySchemas(go, wanted.postgresSchemas);
    fs.renameSync(path.join(scratch, 'sql'), wanted.sqlTool);
    fs.renameSync(path.join(scratch, 'server'), wanted.server);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  log('Temporal server built');
  return wanted;
}
