import { proxySinks, type Sinks, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { getActivator } from '@temporalio/workflow/lib/global-attributes';

/**
 * Workflow interceptor module for the replay test only (test/unit/replay.test.ts): reports
 * every patched(id) the workflow code asks while a history replays, and the answer. A history
 * recorded before a patch is proof of that patch only if replaying it reaches patched(id) and
 * is told no (the marker is absent), i.e. it went through the code the patch changed.
 * patched() has no interceptor hook, so the activator's patch decision is wrapped.
 */
export interface PatchProbeSinks extends Sinks {
  patchProbe: {
    reached(patchId: string, used: boolean): void;
  };
}

const { patchProbe } = proxySinks<PatchProbeSinks>();

export const interceptors: WorkflowInterceptorsFactory = () => {
  const activator = getActivator();
  const decide = activator.patchInternal.bind(activator);
  activator.patchInternal = (patchId: string, deprecated: boolean) => {
    const used = decide(patchId, deprecated);
    patchProbe.reached(patchId, used);
    return used;
  };
  return {};
};
