import net from 'node:net';

export interface Backend {
  host: string;
  port: number;
}

/**
 * One port in front of several API processes: each new TCP connection goes to the next
 * backend in turn; one that refuses the connection is skipped for the next, so a restarting
 * API process costs no request that had not reached it yet.
 */
export async function startRoundRobinProxy(port: number, backends: Backend[], host = '127.0.0.1'): Promise<net.Server> {
  let next = 0;
  const connect = (client: net.Socket, tries: number) => {
    if (tries >= backends.length) return client.destroy();
    const backend = backends[next++ % backends.length]!;
    const upstream = net.connect(backend);
    let connected = false;
    upstream.setTimeout(5_000, () => upstream.destroy(new Error('connect timeout')));
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    upstream.once('error', () => {
      if (!connected && !client.destroyed) connect(client, tries + 1);
    });
  };
  const server = net.createServer({ pauseOnConnect: true }, (client) => {
    client.on('error', () => undefined);
    connect(client, 0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}
