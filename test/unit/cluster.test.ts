import assert from 'node:assert/strict';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import YAML from 'yaml';
import { ProcessDir } from '../../scripts/cluster/processes';
import { type Backend, startRoundRobinProxy } from '../../scripts/cluster/round-robin-proxy';
import { FRONTEND_PORT, NUM_HISTORY_SHARDS, writeServerConfig } from '../../scripts/cluster/server-config';
import { ensureClusterTls } from '../../scripts/cluster/tls';

/** The pieces of `npm run cluster` that need no Temporal build: its config file, the API port's proxy, pid files. */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-unit-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function namedServer(name: string): Promise<{ server: net.Server; backend: Backend }> {
  const server = net.createServer((socket) => socket.end(name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, backend: { host: '127.0.0.1', port: (server.address() as AddressInfo).port } };
}

function ask(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let got = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
    socket.on('data', (c: Buffer) => (got += c.toString()));
    socket.once('close', () => resolve(got));
    socket.once('error', reject);
  });
}

describe('npm run cluster', () => {
  test('one config file: PostgreSQL (postgres12) for persistence and visibility, mTLS on the frontend, 4 shards, the new matcher, one partition per ANAF queue', async () => {
    const tls = await ensureClusterTls(dir);
    const file = writeServerConfig(dir, { host: '127.0.0.1', port: 5433, user: 'temporal', password: 'pw-from-file', managed: true }, tls, [
      'anaf-flow',
      'chaos',
    ]);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600, 'it holds the database password');
    const config = YAML.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(config.persistence.numHistoryShards, NUM_HISTORY_SHARDS);
    for (const store of Object.values<{ sql: { pluginName: string; connectAddr: string } }>(config.persistence.datastores)) {
      assert.equal(store.sql.pluginName, 'postgres12');
      assert.equal(store.sql.connectAddr, '127.0.0.1:5433');
    }
    assert.equal(config.persistence.datastores[config.persistence.visibilityStore].sql.databaseName, 'temporal_visibility');
    const frontend = config.global.tls.frontend.server;
    assert.equal(frontend.requireClientAuth, true);
    assert.deepEqual(frontend.clientCaFiles, [tls.ca]);
    assert.equal(config.global.tls.systemWorker.certFile, tls.systemWorkerCert, "Temporal's own workers present a certificate too");
    assert.equal(config.services.frontend.rpc.grpcPort, FRONTEND_PORT);
    assert.deepEqual(Object.keys(config.services).sort(), ['frontend', 'history', 'matching', 'worker']);
    const dynamic = YAML.parse(fs.readFileSync(config.dynamicConfigClient.filepath, 'utf8'));
    assert.deepEqual(dynamic['matching.useNewMatcher'], [{ value: true, constraints: {} }]);
    // One partition for the rate-limited ANAF queues only (the budget and priorities are per partition).
    for (const key of ['matching.numTaskqueueReadPartitions', 'matching.numTaskqueueWritePartitions']) {
      assert.deepEqual(
        dynamic[key],
        ['anaf-flow-anaf-calls', 'anaf-flow-banciws-calls', 'chaos-anaf-calls', 'chaos-banciws-calls'].map((taskQueueName) => ({
          value: 1,
          constraints: { taskQueueName },
        })),
        key,
      );
    }
    // Made once: a second call keeps the same CA (clients configured with it keep working).
    const again = await ensureClusterTls(dir);
    assert.equal(fs.readFileSync(again.ca, 'utf8'), fs.readFileSync(tls.ca, 'utf8'));
    assert.equal(fs.statSync(tls.clientKey).mode & 0o777, 0o600);
  });

  test('the API port hands connections to the API processes in turn and skips one that is down', async () => {
    const a = await namedServer('a');
    const b = await namedServer('b');
    const proxy = await startRoundRobinProxy(0, [a.backend, b.backend]);
    const port = (proxy.address() as AddressInfo).port;
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await ask(port));
      assert.deepEqual(answers, ['a', 'b', 'a', 'b']);
      await new Promise((r) => b.server.close(r));
      const afterB = [];
      for (let i = 0; i < 3; i++) afterB.push(await ask(port));
      assert.deepEqual(afterB, ['a', 'a', 'a'], 'a refused connection goes to the next backend');
    } finally {
      proxy.close();
      a.server.close();
    }
  });

  test('a pid file whose process is gone, or now another program, is not taken for ours', () => {
    const processes = new ProcessDir(dir);
    processes.write('ours', { pid: process.pid, marker: process.argv[1]! });
    assert.equal(processes.alive('ours')?.pid, process.pid);
    processes.write('recycled', { pid: process.pid, marker: '/no/such/program' });
    assert.equal(processes.alive('recycled'), undefined);
    assert.equal(fs.existsSync(processes.pidFile('recycled')), false, 'the stale pid file is removed');
  });
});
