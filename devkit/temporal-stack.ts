import { type DevServer, startDevServer } from '../lib/temporal/dev-server';
import { stopChild } from '../lib/process/bounded';
import { freePort } from './ports';

/**
 * The Temporal the harness runs on: by default a dev server of its own (SQLite under its
 * data directory); `npm run chaos -- --cluster` passes bench/cluster-stack.ts's instead.
 */
export interface TemporalStack {
  /** Where the product's processes reach Temporal, and the variables they need for it (TLS). */
  address: string;
  env: Record<string, string>;
  /** Processes whose CPU counts as the server's. */
  serverPids(): number[];
  /** The chaos step: Temporal goes down and comes back on the same data; resolves with how long that took (ms). */
  restart(signal: NodeJS.Signals): Promise<number>;
  stop(): Promise<void>;
}

/** `taskQueue`: the harness's main queue (TEMPORAL_TASK_QUEUE), for a stack that configures its ANAF queues. */
export type TemporalStackFactory = (o: {
  dataDir: string;
  namespace: string;
  taskQueue: string;
  onOutput: (line: string) => void;
}) => Promise<TemporalStack>;

/** A dev server of the harness's own, restarted on its SQLite file and port. */
export const devServerStack: TemporalStackFactory = async ({ dataDir, namespace, onOutput }) => {
  const port = await freePort();
  const uiPort = await freePort();
  const start = () => startDevServer({ dataDir, namespace, port, uiPort, onOutput });
  let server: DevServer = await start();
  // A file process that exits before stop() (node --test-force-exit after a timed-out test) takes the server with it.
  const killNow = () => server.process.kill('SIGKILL');
  process.on('exit', killNow);
  return {
    address: server.address,
    env: {},
    serverPids: () => [server.process.pid!],
    async restart(signal) {
      const started = performance.now();
      // Not `once('exit')` nor DevServer.stop(): both wait forever on a server already gone by a
      // signal (exitCode stays null, 'exit' has fired), and that hung a CI run with no child left.
      await stopChild(server.process, signal);
      server = await start();
      return performance.now() - started;
    },
    async stop() {
      await stopChild(server.process, 'SIGTERM');
      process.off('exit', killNow);
    },
  };
};
