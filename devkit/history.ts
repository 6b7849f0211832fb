import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { AnafCif, AnafOutcome, AnafService, AnafStage, AnafTenant, AnafUploadIndex } from '../lib/temporal/search-attributes';
import { eventually } from './wait';

type History = temporal.api.history.v1.IHistory;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type ProtoTime = { seconds?: number | { toString(): string } | null; nanos?: number | null } | null | undefined;
type Payload = temporal.api.common.v1.IPayload;

/**
 * Every payload in a history (inputs, results, signals, updates, memos, failures) except
 * search attributes and headers: those stay plaintext by design (Temporal indexes the first;
 * the second carries only the request id, lib/observability/request-id-header.ts, and bypasses codecs).
 */
export function payloadsOf(history: History): Payload[] {
  const found: Payload[] = [];
  const visit = (value: unknown): void => {
    if (!value || typeof value !== 'object') return;
    if (value instanceof Uint8Array) return;
    const v = value as Record<string, unknown>;
    if ('metadata' in v && 'data' in v && v.metadata && typeof v.metadata === 'object') {
      found.push(v as Payload);
      return;
    }
    for (const [key, child] of Object.entries(v)) if (key !== 'searchAttributes' && key !== 'header') visit(child);
  };
  visit(history.events ?? []);
  return found;
}

/** A protobuf Timestamp or Duration in ms. */
export function protoMs(t: ProtoTime): number {
  return Number(t?.seconds?.toString() ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
}

/** When the server recorded an event (on the time-skipping server: its skipped clock), in ms. */
export function eventTimeMs(event: HistoryEvent): number {
  return protoMs(event.eventTime);
}

/** The events that scheduled activity `name`, in history order. */
export function activitySchedules(history: History, name: string): HistoryEvent[] {
  return (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === name);
}

/** One search-attribute upsert or memo write of the workflow's, and the workflow task that made it. */
export interface AttributeWrite {
  /** The id of the WorkflowTaskCompleted event whose commands wrote it. */
  task: string;
  kind: 'upsert' | 'memo';
  /** The search attributes (upsert) or memo fields written. */
  keys: string[];
}

/** The workflow's own upserts and memo writes, in history order; the SDK's TemporalChangeVersion upserts (from patched()) are left out. */
export function attributeWrites(history: History): AttributeWrite[] {
  const writes: AttributeWrite[] = [];
  for (const e of history.events ?? []) {
    const upsert = e.upsertWorkflowSearchAttributesEventAttributes;
    const memo = e.workflowPropertiesModifiedEventAttributes;
    if (upsert && !upsert.searchAttributes?.indexedFields?.TemporalChangeVersion) {
      writes.push({
        task: String(upsert.workflowTaskCompletedEventId),
        kind: 'upsert',
        keys: Object.keys(upsert.searchAttributes?.indexedFields ?? {}),
      });
    }
    if (memo)
      writes.push({ task: String(memo.workflowTaskCompletedEventId), kind: 'memo', keys: Object.keys(memo.upsertedMemo?.fields ?? {}) });
  }
  return writes;
}

/** The workflow tasks that wrote more than one upsert or more than one memo, with their counts (empty: at most one of each per task). */
export function tasksWritingTwice(writes: AttributeWrite[]): Array<{ task: string; upserts: number; memos: number }> {
  const perTask = new Map<string, { task: string; upserts: number; memos: number }>();
  for (const w of writes) {
    const counts = perTask.get(w.task) ?? { task: w.task, upserts: 0, memos: 0 };
    if (w.kind === 'upsert') counts.upserts += 1;
    else counts.memos += 1;
    perTask.set(w.task, counts);
  }
  return [...perTask.values()].filter((c) => c.upserts > 1 || c.memos > 1);
}

/**
 * What the Web UI shows of a lifecycle (its search attributes and the memo's summary) and how the
 * workflow wrote them (attributeWrites).
 */
export async function webUiRecord(client: Client, workflowId: string) {
  const handle = client.workflow.getHandle(workflowId);
  const { typedSearchAttributes: sa, memo } = await handle.describe();
  return {
    attributes: {
      tenant: sa.get(AnafTenant),
      service: sa.get(AnafService),
      cif: sa.get(AnafCif),
      stage: sa.get(AnafStage),
      outcome: sa.get(AnafOutcome),
      uploadIndex: sa.get(AnafUploadIndex),
    },
    summary: (memo as { summary?: string } | undefined)?.summary,
    writes: attributeWrites(await handle.fetchHistory()),
  };
}

export async function historyOf(client: Client, workflowId: string): Promise<History> {
  return client.workflow.getHandle(workflowId).fetchHistory();
}

/** The raw bytes of a history as Temporal stores them, as text, for substring scans. */
export function historyText(history: History): string {
  return Buffer.from(temporal.api.history.v1.History.encode(history).finish()).toString('latin1');
}

export function encodingOf(p: Payload): string {
  return Buffer.from(p.metadata?.encoding ?? new Uint8Array()).toString();
}

/**
 * Every history of a tenant as texts to scan for secrets: the raw bytes Temporal stores,
 * and each payload as an operator sees it decoded through the codec server in the Web UI.
 * Visibility lags behind: the listing is read until it names every workflow in `mustInclude`
 * (the ones the test made its secrets in), so a scan cannot pass by missing them.
 */
export async function tenantHistoryTexts(client: Client, tenant: string, codec: PayloadCodec, mustInclude: string[]): Promise<string[]> {
  const listIds = async () => {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query: `AnafTenant = '${tenant}'` })) ids.push(wf.workflowId);
    return ids;
  };
  const ids = await eventually(
    listIds,
    (listed) => mustInclude.every((id) => listed.includes(id)),
    `visibility lists ${mustInclude.join(', ')}`,
  );
  const texts: string[] = [];
  for (const workflowId of ids) {
    const history = await historyOf(client, workflowId);
    texts.push(historyText(history));
    for (const payload of await codec.decode(payloadsOf(history) as never)) {
      // An update or activity that returns nothing leaves an undefined payload: no text to scan.
      texts.push(JSON.stringify(defaultPayloadConverter.fromPayload(payload)) ?? '');
    }
  }
  return texts;
}
