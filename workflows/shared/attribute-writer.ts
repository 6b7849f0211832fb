import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';

/**
 * Search-attribute and memo updates, coalesced per workflow task: every change made while
 * the workflow runs one task (stage + upload index + summary, say) goes out as one upsert
 * command and one memo command at the end of that task, and a value the workflow already
 * has (e.g. what the API set at start) is not written again. Each upsert is a history event
 * and a visibility write on the server, so a lifecycle costs fewer of both.
 *
 * `coalesce: false` writes each change at once, as the workflows did before — kept for
 * histories recorded before this existed (the caller decides with `patched()`).
 */
export interface AttributeWriter {
  set(pairs: SearchAttributeUpdatePair[]): void;
  memo(memo: Record<string, unknown>): void;
  /** Writes what is pending now (before the workflow returns or throws). */
  flush(): void;
}

export function attributeWriter(coalesce: boolean): AttributeWriter {
  const pending = new Map<string, SearchAttributeUpdatePair>();
  let pendingMemo: Record<string, unknown> | undefined;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    const info = workflowInfo();
    const changed = [...pending.values()].filter((pair) => info.typedSearchAttributes.get(pair.key) !== pair.value);
    pending.clear();
    if (changed.length) upsertSearchAttributes(changed);
    const memo = pendingMemo;
    pendingMemo = undefined;
    if (memo && Object.entries(memo).some(([k, v]) => info.memo?.[k] !== v)) upsertMemo(memo);
  };
  // A microtask runs before the workflow task ends (the SDK drains them before it answers),
  // after whatever else the workflow does synchronously in this task.
  const later = () => {
    if (scheduled) return;
    scheduled = true;
    void Promise.resolve().then(flush);
  };

  return {
    set(pairs) {
      if (!coalesce) return upsertSearchAttributes(pairs);
      for (const pair of pairs) pending.set(pair.key.name, pair);
      later();
    },
    memo(memo) {
      if (!coalesce) return upsertMemo(memo);
      pendingMemo = { ...pendingMemo, ...memo };
      later();
    },
    flush() {
      if (coalesce) flush();
    },
  };
}
