import type { AnafProblem } from './failures';
import { detectProblem, failureForError, failureForProblem } from './failures';
import { type AnafRequest, type AnafResponse, anafFetch } from './http';

/**
 * One Bearer-authenticated call to api.anaf.ro, as every typed ANAF client makes it: a
 * 401/403 comes back as `unauthorized` (so the token provider can refresh once and try
 * again); any other problem is classified by failures.ts and thrown as the
 * ApplicationFailure the workflows key on. `tolerate` lets a client keep an answer that
 * looks like an error but is not one for it (an empty listing).
 */
export type BearerCallResult = { ok: true; res: AnafResponse } | { ok: false; unauthorized: true; status: number };

export interface BearerRequest extends Omit<AnafRequest, 'headers'> {
  token: string;
  contentType?: string;
  accept?: string;
}

export async function anafBearerCall(
  req: BearerRequest,
  ctx: { operation: string; idempotent: boolean },
  tolerate?: (problem: AnafProblem) => boolean,
): Promise<BearerCallResult> {
  const { token, contentType, accept, ...rest } = req;
  let res: AnafResponse;
  try {
    res = await anafFetch({
      ...rest,
      headers: {
        authorization: `Bearer ${token}`,
        ...(contentType ? { 'content-type': contentType } : {}),
        accept: accept ?? '*/*',
      },
    });
  } catch (err) {
    throw failureForError(err, ctx);
  }
  const problem = detectProblem(res);
  if (problem?.kind === 'UNAUTHORIZED') return { ok: false, unauthorized: true, status: problem.status };
  if (problem) {
    if (tolerate?.(problem)) return { ok: true, res };
    throw failureForProblem(problem, ctx);
  }
  return { ok: true, res };
}
