import { type AnafProblem, detectProblem } from '../anaf/failures';
import {
  type DownloadAnswer,
  downloadRequest,
  type ListAnswer,
  listRequest,
  parseDownloadAnswer,
  parseListAnswer,
  parseStatusAnswer,
  parseUploadAnswer,
  type StatusAnswer,
  statusRequest,
  type UploadAnswer,
  uploadRequest,
} from '../../schemas/banciws/xml';
import { BanciwsSession, type BanciwsSessionOptions } from './transport';

/**
 * The four BANCIWS methods, typed: requests built and validated by schemas/banciws, sent
 * through the institution's F5 session, answers checked by the shared classifier
 * (failures.ts) and then validated and parsed.
 */

/** ANAF (not the gateway) answered something that is not a BANCIWS answer: 429, 5xx, an error page. */
export class BanciwsAnswerError extends Error {
  constructor(readonly problem: AnafProblem) {
    super(problem.message);
    this.name = 'BanciwsAnswerError';
  }
}

const BOOTSTRAP_ZILE = '1/24';

export class BanciwsClient {
  readonly session: BanciwsSession;

  constructor(options: BanciwsSessionOptions) {
    this.session = new BanciwsSession(options, () => listRequest(BOOTSTRAP_ZILE));
  }

  private async call(method: string, xml: string, timeoutMs?: number): Promise<string> {
    const res = await this.session.post(method, xml, timeoutMs);
    const problem = detectProblem(res);
    if (problem) throw new BanciwsAnswerError(problem);
    if (res.status !== 200)
      throw new BanciwsAnswerError({ kind: 'ANAF_ERROR', status: res.status, message: `unexpected HTTP ${res.status} from ${method}` });
    return res.text();
  }

  async list(zile: string): Promise<ListAnswer> {
    return parseListAnswer(await this.call('listaMesaje', await listRequest(zile)));
  }

  /** Not idempotent at ANAF: callers must not repeat it when the answer is lost. */
  async upload(pdf: Buffer): Promise<UploadAnswer> {
    return parseUploadAnswer(await this.call('uploadMesaj', await uploadRequest(pdf), 180_000));
  }

  async status(index: string): Promise<StatusAnswer> {
    return parseStatusAnswer(await this.call('stareMesaj', await statusRequest(index)));
  }

  async download(idPortal: string): Promise<DownloadAnswer> {
    return parseDownloadAnswer(await this.call('descarcare', await downloadRequest(idPortal), 180_000));
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
