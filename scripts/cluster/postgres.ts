import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * PostgreSQL for the cluster: the Debian package's binaries, a data directory under
 * DATA_DIR/cluster/pg owned by the `postgres` user when we are root (PostgreSQL refuses to run
 * as root), loopback TCP only, password (SCRAM) authentication. Or an existing server from
 * CLUSTER_POSTGRES_URL, which is then neither started nor stopped here.
 */

export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Whether this script owns the server (starts and stops it). */
  managed: boolean;
}

const DEFAULT_PORT = 5433;
const isRoot = process.getuid?.() === 0;

function pgBinDir(log: (line: string) => void): string {
  const find = () => {
    const root = '/usr/lib/postgresql';
    const versions = fs.existsSync(root)
      ? fs
          .readdirSync(root)
          .filter((v) => /^\d+$/.test(v))
          .sort((a, b) => Number(b) - Number(a))
      : [];
    return versions.map((v) => path.join(root, v, 'bin')).find((d) => fs.existsSync(path.join(d, 'initdb')));
  };
  let dir = find();
  if (dir) return dir;
  if (!isRoot) throw new Error('PostgreSQL is not installed: apt-get install -y postgresql (or set CLUSTER_POSTGRES_URL)');
  log('PostgreSQL is not installed: apt-get install -y postgresql (a minute or two, once)');
  for (const args of [['update'], ['install', '-y', '--no-install-recommends', 'postgresql']]) {
    const r = spawnSync('apt-get', args, {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed`);
  }
  dir = find();
  if (!dir) throw new Error('apt-get installed postgresql but no initdb was found under /usr/lib/postgresql');
  return dir;
}

/** Runs a PostgreSQL binary as the `postgres` user when we are root, else as ourselves. */
function pg(bin: string, args: string[], timeoutMs: number): { status: number | null; output: string } {
  const [cmd, full] = isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, full, { encoding: 'utf8', timeout: timeoutMs, cwd: '/' });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

function ensureOwnedDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!isRoot) return;
  const pwent = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (pwent.status !== 0) throw new Error('there is no "postgres" user to run PostgreSQL as (apt-get install postgresql creates it)');
  fs.chownSync(dir, Number(pwent.stdout.trim()), Number(gid.stdout.trim()));
  const probe = spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-w', dir]);
  if (probe.status !== 0)
    throw new Error(`the postgres user cannot reach ${dir}: give its parent directories o+x, or set DATA_DIR elsewhere`);
}

export function portInUse(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

export class ManagedPostgres {
  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly bin: string,
    private readonly secretsFile: string,
  ) {}

  /** Installs PostgreSQL if needed and makes (once) the data directory and the `temporal` superuser. */
  static prepare(clusterDir: string, log: (line: string) => void): ManagedPostgres {
    const bin = pgBinDir(log);
    const port = Number(process.env.CLUSTER_POSTGRES_PORT ?? DEFAULT_PORT);
    const pg = new ManagedPostgres(path.join(clusterDir, 'pg'), port, bin, path.join(clusterDir, 'postgres-password'));
    if (!fs.existsSync(path.join(pg.dataDir, 'PG_VERSION'))) pg.init(log);
    return pg;
  }

  private init(log: (line: string) => void): void {
    log(`initialising PostgreSQL in ${this.dataDir}`);
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    ensureOwnedDir(this.dataDir);
    const password = randomBytes(24).toString('base64url');
    fs.writeFileSync(this.secretsFile, password, { mode: 0o600 });
    // initdb reads the password from a file only the postgres user can read, removed right after.
    const pwfile = path.join(this.dataDir, '..', `.pwfile-${process.pid}`);
    fs.writeFileSync(pwfile, password, { mode: 0o600 });
    try {
      if (isRoot) fs.chownSync(pwfile, fs.statSync(this.dataDir).uid, fs.statSync(this.dataDir).gid);
      const r = pg(
        path.join(this.bin, 'initdb'),
        [
          '-D',
          this.dataDir,
          '-U',
          'temporal',
          `--pwfile=${pwfile}`,
          '--auth-host=scram-sha-256',
          '--auth-local=peer',
          '-E',
          'UTF8',
          '--locale=C',
        ],
        120_000,
      );
      if (r.status !== 0) throw new Error(`initdb failed: ${r.output.slice(-2000)}`);
    } finally {
      fs.rmSync(pwfile, { force: true });
    }
  }

  get target(): PostgresTarget {
    return {
      host: '127.0.0.1',
      port: this.port,
      user: 'temporal',
      password: fs.readFileSync(this.secretsFile, 'utf8').trim(),
      managed: true,
    };
  }

  running(): boolean {
    return pg(path.join(this.bin, 'pg_ctl'), ['status', '-D', this.dataDir], 10_000).status === 0;
  }

  /** Starts it (no-op when it runs) and waits until it accepts connections. */
  async start(): Promise<void> {
    if (this.running()) return;
    if (await portInUse(this.port)) throw new Error(`port ${this.port} is taken by something else: set CLUSTER_POSTGRES_PORT`);
    // Frugal: the machine is shared; loopback TCP only, no Unix socket.
    const options = `-c listen_addresses=127.0.0.1 -p ${this.port} -c unix_socket_directories='' -c max_connections=200 -c shared_buffers=64MB -c fsync=on`;
    const r = pg(
      path.join(this.bin, 'pg_ctl'),
      ['start', '-D', this.dataDir, '-l', path.join(this.dataDir, 'server.log'), '-o', options, '-w', '-t', '60'],
      90_000,
    );
    if (r.status !== 0) throw new Error(`PostgreSQL did not start: ${r.output.slice(-1000)} (log: ${this.dataDir}/server.log)`);
  }

  /** Fast shutdown (rolls back open transactions, flushes); `immediate` is a crash-like stop for chaos. */
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    if (!this.running()) return;
    const r = pg(path.join(this.bin, 'pg_ctl'), ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '60'], 90_000);
    if (r.status !== 0) throw new Error(`PostgreSQL did not stop: ${r.output.slice(-1000)}`);
  }
}

/** CLUSTER_POSTGRES_URL=postgres://user:password@host:port — an existing server. */
export function externalPostgres(url: string): PostgresTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('CLUSTER_POSTGRES_URL must be postgres://user:password@host:port');
  }
  if (!/^postgres(ql)?:$/.test(u.protocol) || !u.username)
    throw new Error('CLUSTER_POSTGRES_URL must be postgres://user:password@host:port');
  return {
    host: u.hostname,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    managed: false,
  };
}
