import os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { runXmlParseTask, type XmlParseAnswer, type XmlParseRequest } from './xml-parse-tasks';

/**
 * A parse thread of XmlParsePool (api/xml-parse-pool.ts): one task at a time, under the
 * pool's memory cap (resourceLimits) and time cap (the pool terminates it past the cap).
 */
// The lowest CPU priority for this thread only (Linux nice values are per thread): when the
// cores are busy, the API's event loop, not a parse, gets the CPU.
try {
  os.setPriority(19);
} catch {
  // Not permitted here (some containers): the parse still runs, at normal priority.
}

const port = parentPort;
if (!port) throw new Error('api/xml-parse-worker.ts runs as a worker thread of XmlParsePool');
port.on('message', (request: XmlParseRequest) => {
  let answer: XmlParseAnswer;
  try {
    answer = { ok: true, result: runXmlParseTask(request) };
  } catch (err) {
    // A document nested deeper than the stack allows is too complex, not our bug.
    answer = { ok: false, message: (err as Error).message, stackExhausted: err instanceof RangeError };
  }
  port.postMessage(answer);
});
