import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { resolveTemporalCli } from '../../lib/temporal/temporal-binaries';
import { OPERATOR, TENANT_A } from '../../devkit/config';
import { callApi } from '../../devkit/api-client';
import type { Stack, StackOptions } from '../../devkit/stack';

/**
 * What a service's recordings for `npm run record-histories` are made of: scenarios driven on
 * a real stack (devkit/stack.ts), each saving the histories of the workflows it ran.
 */
export interface Recorder {
  stack: Stack;
  /** Writes the history of `workflowId` (its latest run, or `runId`) as test/histories/<name>.json. */
  save(name: string, workflowId: string, runId?: string): Promise<void>;
  /** An API call as tenant A; a 4xx/5xx answer throws. */
  api(method: string, path: string, options?: Parameters<typeof callApi>[4]): Promise<Record<string, any>>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface Scenario {
  /** A stack of its own (e.g. a sandbox whose listing runs an hour late); the service's otherwise. */
  stack?: StackOptions;
  run(r: Recorder): Promise<void>;
}

export interface Service {
  stack?: StackOptions;
  /** Run once on each stack before its scenarios (organizations, authorizations). */
  prepare?(r: Recorder): Promise<void>;
  scenarios: Record<string, Scenario>;
  /**
   * Scenarios that also go through the code a patch changed, by patch id: `--before-patch <id>`
   * records them with the code from before the patch as <service>-pre-patch-<scenario>.json.
   */
  beforePatch?: Record<string, string[]>;
}

/** Where histories go: test/histories, or RECORD_HISTORIES_OUT (a pre-patch run writes into the checkout it came from). */
export const HISTORIES_DIR = process.env.RECORD_HISTORIES_OUT ?? path.resolve(__dirname, '../../test/histories');

/** `overwrite` false: an existing history stays as it is (the replay test guards what running workflows have). */
export function recorderFor(stack: Stack, prefix: (name: string) => string, overwrite: boolean): Recorder {
  return {
    stack,
    // The CLI's JSON is what an operator downloads from the Web UI too, so either can become a fixture.
    async save(name, workflowId, runId) {
      const file = `${prefix(name)}.json`;
      if (!overwrite && fs.existsSync(path.join(HISTORIES_DIR, file))) {
        console.log(`kept ${file} (it exists; --overwrite records it again)`);
        return;
      }
      const out = execFileSync(
        resolveTemporalCli(),
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          ...(runId ? ['--run-id', runId] : []),
          '--address',
          stack.env.address,
          '--output',
          'json',
        ],
        { encoding: 'utf8', env: { ...process.env, TEMPORAL_VERSION_CHECK_DISABLED: '1' } },
      );
      fs.mkdirSync(HISTORIES_DIR, { recursive: true });
      fs.writeFileSync(path.join(HISTORIES_DIR, file), out.endsWith('\n') ? out : `${out}\n`);
      console.log(`recorded ${file} (${(JSON.parse(out) as { events: unknown[] }).events.length} events)`);
    },
    async api(method, p, options = {}) {
      // Decisions on stuck cases take the operator's key; everything else the tenant's.
      const res = await callApi(stack, p.endsWith('/resolve') ? OPERATOR.key : TENANT_A.key, method, p, options);
      if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${res.text}`);
      return (res.json ?? {}) as Record<string, string>;
    },
  };
}
