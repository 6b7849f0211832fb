import { attributeWriter, type AttributeWriter } from '../attribute-writer';

/**
 * How a lifecycle records what it does: search attributes and memo, the attention flag, the
 * decisions kept, and the upload re-sends that surely never reached ANAF. New runs of every
 * service record the same way (`UNIFORM`); each service's older way stays, behind that service's
 * patch, only so that histories recorded before it replay (writing attributes one at a time or
 * coalesced puts different commands in the history). Workflow-safe: no I/O.
 */

export interface RecordingRules {
  attributes: AttributeWriter;
  /**
   * Where trimming the decisions starts: 1 keeps the first decision, 0 drops the oldest first.
   * The first decision says how the lifecycle began (the first lost answer, the first re-send),
   * which is what an operator reading a long trail needs most to make sense of the rest.
   */
  trimFrom: 0 | 1;
  /** 'on-change' writes AnafNeedsAttention only when the flag or its reason changes; 'always' on every call. */
  attentionWrites: 'on-change' | 'always';
  /** A safe re-send (ANAF surely did not take the upload) as a NOT_SENT attempt and a SAFE_RETRY decision. */
  recordSafeRetries: boolean;
}

/** How a service recorded before the uniform rules: what its unpatched histories were written with. */
export type LegacyRecording = Omit<RecordingRules, 'attributes'> & { coalesceAttributes: boolean };

/**
 * The one way for new runs: attributes and memo written once per workflow task (fewer history
 * events and visibility writes), attention on change, the first decision kept, and every safe
 * re-send shown (an operator asking "why did this take ten minutes?" sees the 429s).
 */
const UNIFORM: LegacyRecording = { coalesceAttributes: true, trimFrom: 1, attentionWrites: 'on-change', recordSafeRetries: true };

/**
 * The rules a run records with: `uniform` is the service's patched('<service>-uniform-records');
 * `legacy` is read only when it is false (a run recorded before the patch). One patch id per
 * service rather than one shared id: each service's open runs drain on their own time (an invoice
 * in hours, a declaration for as long as its UIT lives), so each patch can be deprecated alone,
 * and the replay test then demands histories before and after the patch of every service.
 */
export function recordingRules(uniform: boolean, legacy: () => LegacyRecording): RecordingRules {
  const { coalesceAttributes, ...rules } = uniform ? UNIFORM : legacy();
  return { attributes: attributeWriter(coalesceAttributes), ...rules };
}
