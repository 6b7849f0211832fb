import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ServerBinaries } from './binaries';
import type { PostgresTarget } from './postgres';
import { PERSISTENCE_DB, VISIBILITY_DB } from './server-config';

/**
 * Persistence and SQL visibility schemas, idempotent: a database made now gets the versioning
 * tables at 0.0; every run then updates to the newest version the server ships (a no-op when
 * current), so a second `npm run cluster` reuses the data and a newer server migrates it.
 */

function sqlTool(bin: ServerBinaries, db: PostgresTarget, args: string[], timeoutMs = 120_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // The password goes through the environment, never the command line (ps shows that).
    const env = { ...process.env, SQL_PASSWORD: db.password };
    const child = spawn(bin.sqlTool, ['--plugin', 'postgres12', '--ep', db.host, '-p', String(db.port), '-u', db.user, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

export async function ensureSchemas(bin: ServerBinaries, db: PostgresTarget, log: (line: string) => void): Promise<void> {
  for (const [database, dir] of [
    [PERSISTENCE_DB, 'temporal'],
    [VISIBILITY_DB, 'visibility'],
  ] as const) {
    const created = await sqlTool(bin, db, ['--db', database, 'create-database', '--defaultdb', 'postgres']);
    if (created.code === 0) {
      log(`created database ${database}`);
      const setup = await sqlTool(bin, db, ['--db', database, 'setup-schema', '-v', '0.0']);
      if (setup.code !== 0) throw new Error(`setting up ${database} failed:\n${setup.output.slice(-2000)}`);
    } else if (!/already exists/.test(created.output)) {
      throw new Error(`creating database ${database} failed:\n${created.output.slice(-2000)}`);
    }
    const updated = await sqlTool(bin, db, ['--db', database, 'update-schema', '-d', path.join(bin.postgresSchemas, dir, 'versioned')], 300_000);
    if (updated.code !== 0) throw new Error(`updating the ${database} schema failed:\n${updated.output.slice(-2000)}`);
  }
}
