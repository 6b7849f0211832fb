import { spawn } from 'node:child_process';
import path from 'node:path';
import type { ServerBinaries } from './binaries';
import type { PostgresTarget } from './postgres';
import { PERSISTENCE_DB, VISIBILITY_DB } from './server-config';

/**
 * Persistence and SQL visibility schemas, idempotent as the tool is: create-database is a
 * no-op when the database exists, setup-schema -v 0.0 only records 0.0 in a database that has
 * no newer version, and update-schema applies what is newer than the recorded version (nothing
 * when current). So a second `npm run cluster` reuses the data and a newer server migrates it.
 */

function sqlTool(
  bin: ServerBinaries,
  db: PostgresTarget,
  args: string[],
  timeoutMs = 120_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // The password goes through the environment, never the command line (ps shows that).
    const env = { ...process.env, SQL_PASSWORD: db.password };
    const child = spawn(bin.sqlTool, ['--plugin', 'postgres12', '--ep', db.host, '-p', String(db.port), '-u', db.user, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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
    for (const step of [
      ['create-database', '--defaultdb', 'postgres'],
      ['setup-schema', '-v', '0.0'],
    ]) {
      const r = await sqlTool(bin, db, ['--db', database, ...step]);
      if (r.code !== 0) throw new Error(`${step[0]} ${database} failed:\n${r.output.slice(-2000)}`);
    }
    const updated = await sqlTool(
      bin,
      db,
      ['--db', database, 'update-schema', '-d', path.join(bin.postgresSchemas, dir, 'versioned')],
      300_000,
    );
    if (updated.code !== 0) throw new Error(`updating the ${database} schema failed:\n${updated.output.slice(-2000)}`);
  }
  log(`schemas ${PERSISTENCE_DB} and ${VISIBILITY_DB} at the server's newest version`);
}
