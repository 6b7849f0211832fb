import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '../lib/storage/blob-store';

/**
 * What an Idempotency-Key started, remembered beyond Temporal's retention. Temporal forgets a
 * closed workflow after the namespace's retention (days); without this record the same key
 * would then start a new workflow, i.e. upload the invoice again. One small file per tenant and
 * key under DATA_DIR/idempotency, written before the start; kept until an operator removes it.
 */
export interface IdempotencyRecord {
  workflowId: string;
  /** SHA-256 of the request: the same key with another request is a 409. */
  requestSha256: string;
  createdAt: string;
  /** false while the start is under way; true once Temporal has the workflow. */
  started: boolean;
}

export class IdempotencyRecords {
  constructor(private readonly dir: string) {}

  /** Tenants and keys are validated before (workflow ids); the file name is a digest anyway, never a path from input. */
  private fileFor(workflowId: string): string {
    const tenant = workflowId.slice(0, workflowId.indexOf('/'));
    return path.join(this.dir, tenant, `${sha256Hex(workflowId)}.json`);
  }

  async get(workflowId: string): Promise<IdempotencyRecord | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.fileFor(workflowId), 'utf8')) as IdempotencyRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** Creates the record unless one exists (first writer wins); answers the record that holds. */
  async claim(record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const file = this.fileFor(record.workflowId);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    try {
      await fs.writeFile(file, JSON.stringify(record), { flag: 'wx', mode: 0o600 });
      return record;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return (await this.get(record.workflowId))!;
    }
  }

  async markStarted(record: IdempotencyRecord): Promise<void> {
    const file = this.fileFor(record.workflowId);
    // Unique per write: two requests with the same key in one process must not share a temporary file.
    const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, JSON.stringify({ ...record, started: true }), { mode: 0o600 });
    await fs.rename(tmp, file);
  }
}

export function idempotencyRecordsFor(dataDir: string): IdempotencyRecords {
  return new IdempotencyRecords(path.join(dataDir, 'idempotency'));
}
