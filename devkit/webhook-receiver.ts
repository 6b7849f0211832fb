import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A local webhook receiver: resolves `next(event)` when a delivery of that event arrives. `raw` and `headers` are kept to check signatures. */
export async function webhookReceiver() {
  const received: Array<{ event: string; body: any; raw: string; headers: http.IncomingHttpHeaders }> = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  const waiters: Array<{ event: string; resolve: (b: unknown) => void }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw);
      received.push({ event: body.event, body, raw, headers: req.headers });
      for (const w of waiters.filter((x) => x.event === body.event)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(body);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    next(event: string): Promise<any> {
      const already = received.find((r) => r.event === event);
      return already ? Promise.resolve(already.body) : new Promise((resolve) => waiters.push({ event, resolve }));
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
