import type { FaultControls } from '../sandbox';
import { eventually } from './wait';

/**
 * Holds the answers of a listing `route` (sandbox fault holdAnswer) until one is asked while the
 * case reconciles a lost upload, so that an operator's decision sent next arrives while the
 * listing is being read. Answers asked before the reconciliation go on (BANCIWS opens each
 * session with a listaMesaje). Returns what lets the listing go: the rule removed (with every
 * other fault rule), the held answers released.
 */
export async function holdListingWhileReconciling(
  faults: FaultControls,
  route: string,
  method: string,
  stage: () => Promise<string>,
): Promise<() => void> {
  faults.add({ route, method, holdAnswer: true });
  await eventually(
    async () => {
      // Held before the case was seen RECONCILING: asked before the reconciliation, let go.
      const held = faults.held();
      const now = await stage();
      if (now !== 'RECONCILING') for (const h of held) faults.release(h.id);
      return { now, held: held.length };
    },
    ({ now, held }) => now === 'RECONCILING' && held > 0,
    'a listing call held while reconciling',
  );
  return () => {
    faults.clear();
    faults.release();
  };
}
