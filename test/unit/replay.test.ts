import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { before, test } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, DefaultLogger, type InjectedSinks, Worker } from '@temporalio/worker';
import ts from 'typescript';
import { dataConverterFor } from '../../lib/temporal/temporal-client';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../workers/interceptors';
import * as workflows from '../../workflows';
import type { LifecycleMetricsSinks } from '../../workflows/interceptors';
import { testConfig } from '../../devkit/config';
import type { PatchProbeSinks } from '../../devkit/replay-patch-probe';

/**
 * Every recorded history (test/histories, from `npm run record-histories` or downloaded
 * from the Web UI) must replay against today's workflow code: a change that would break
 * running workflows fails here, before it reaches a worker. And the recordings must cover
 * the code, or a green replay proves little: every workflow type the worker registers has a
 * history, and every patched() id has a history recorded with its marker and one recorded
 * before the patch that reaches it (replaying it, today's code asks patched(id) and is told
 * no). Both lists come from the code, so a new workflow or patch without histories fails here.
 */
const ROOT = path.resolve(__dirname, '../..');
const DIR = path.join(ROOT, 'test/histories');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
const RECORD = 'record them with `npm run record-histories -- --only <service>` (docs/development.md, Tests)';

/**
 * Patches whose pre-patch history cannot be recorded, with the reason. Keep this empty: each
 * entry is a patch whose old path no test proves still replays.
 */
const UNRECORDABLE_BEFORE_PATCH: Record<string, string> = {};

type History = temporal.api.history.v1.IHistory;
const histories = new Map<string, History>(files.map((f) => [f, historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, f), 'utf8')))]));
/** Per history file: the replay's failure (undefined when it replayed), and each patched(id) reached with its answer. */
const replays = new Map<string, { error?: Error; patches: Map<string, boolean> }>();

before(async () => {
  // One bundle with the production interceptors and the patch probe; one replay worker for every history.
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES, require.resolve('../../devkit/replay-patch-probe')],
    logger: new DefaultLogger('WARN'),
  });
  const patchesOf = (file: string) => replays.get(file)?.patches ?? new Map<string, boolean>();
  const sinks: InjectedSinks<PatchProbeSinks & LifecycleMetricsSinks> = {
    patchProbe: {
      reached: {
        fn: (info, patchId, used) => {
          const patches = patchesOf(info.workflowId);
          patches.set(patchId, (patches.get(patchId) ?? false) || used);
          replays.set(info.workflowId, { patches });
        },
        callDuringReplay: true,
      },
    },
    anafFlowMetrics: { lifecycleFinished: { fn: () => undefined } },
  };
  const results = Worker.runReplayHistories(
    { workflowBundle: { code }, dataConverter: dataConverterFor(testConfig()), sinks },
    [...histories].map(([workflowId, history]) => ({ workflowId, history })),
  );
  for await (const result of results) {
    replays.set(result.workflowId, { patches: patchesOf(result.workflowId), ...(result.error ? { error: result.error } : {}) });
  }
});

for (const file of files) {
  test(`replays ${file}`, () => {
    const replay = replays.get(file);
    assert.ok(replay, `${file} was not replayed`);
    if (replay.error) throw replay.error;
  });
}

function workflowTypeOf(history: History): string | undefined {
  return history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
}

/** Patch ids whose marker the history records (core_patch markers; TemporalChangeVersion search attributes). */
function markersOf(history: History): Set<string> {
  const ids = new Set<string>();
  const json = (payload: temporal.api.common.v1.IPayload | undefined): unknown =>
    payload?.data ? JSON.parse(Buffer.from(payload.data).toString('utf8')) : undefined;
  for (const event of history.events ?? []) {
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName === 'core_patch') {
      const data = json(marker.details?.['patch-data']?.payloads?.[0]) as { id?: string } | undefined;
      if (data?.id) ids.add(data.id);
    }
    const versions = json(event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.TemporalChangeVersion);
    if (Array.isArray(versions)) for (const id of versions) if (typeof id === 'string') ids.add(id);
  }
  return ids;
}

/**
 * Every patched(id) in workflows/**: ids resolved by the type checker (string literals, consts,
 * imported consts, `as const` members). A call whose id is not a constant string fails the test.
 */
function patchIdsInWorkflows(): { ids: Map<string, string>; unresolved: string[] } {
  const sources: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) sources.push(p);
    }
  };
  walk(path.join(ROOT, 'workflows'));
  // Only workflows/ itself: constants live there, and leaving out libraries keeps this to a second.
  const program = ts.createProgram(sources, { noEmit: true, noLib: true, noResolve: true, types: [], target: ts.ScriptTarget.ES2022 });
  const checker = program.getTypeChecker();
  const ids = new Map<string, string>();
  const unresolved: string[] = [];
  for (const file of sources) {
    const source = program.getSourceFile(file)!;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node)) {
        const callee = ts.isPropertyAccessExpression(node.expression) ? node.expression.name : node.expression;
        if (ts.isIdentifier(callee) && callee.text === 'patched') {
          const where = `${path.relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
          const arg = node.arguments[0];
          const type = arg && checker.getTypeAtLocation(arg);
          if (type?.isStringLiteral()) ids.set(type.value, ids.get(type.value) ?? where);
          else unresolved.push(`${where}: ${node.getText(source)}`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return { ids, unresolved };
}

test('every workflow type the worker registers has a recorded history', () => {
  const recorded = new Set([...histories.values()].map(workflowTypeOf));
  const registered = Object.entries(workflows)
    .filter(([, value]) => typeof value === 'function')
    .map(([name]) => name);
  assert.ok(registered.length > 0, 'no workflow found in workflows/index.ts');
  const missing = registered.filter((type) => !recorded.has(type));
  assert.deepEqual(missing, [], `workflow types without a history in test/histories: ${missing.join(', ')}; ${RECORD}`);
});

test('every patch has a history recorded with its marker and one recorded before it that reaches the patched code', () => {
  const { ids, unresolved } = patchIdsInWorkflows();
  assert.deepEqual(unresolved, [], 'patched() ids must be constant strings, so this test can find their histories');
  assert.ok(ids.size > 0, 'no patched() call found in workflows/');
  const problems: string[] = [];
  for (const [id, where] of ids) {
    const withMarker = files.filter((f) => markersOf(histories.get(f)!).has(id));
    if (withMarker.length === 0) problems.push(`patched('${id}') (${where}): no history recorded with its marker`);
    if (id in UNRECORDABLE_BEFORE_PATCH) continue;
    const before = files.filter((f) => replays.get(f)?.patches.get(id) === false);
    if (before.length === 0) {
      problems.push(
        `patched('${id}') (${where}): no history recorded before the patch that reaches it (replayed, today's code must ask patched('${id}') and be told no)`,
      );
    }
  }
  for (const id of Object.keys(UNRECORDABLE_BEFORE_PATCH))
    if (!ids.has(id)) problems.push(`UNRECORDABLE_BEFORE_PATCH names '${id}', which no patched() call uses`);
  assert.deepEqual(problems, [], `${problems.join('\n')}\n${RECORD}; a pre-patch history is recorded with \`--before-patch <id>\``);
});
