import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** A port free right now on 127.0.0.1 (for servers that must be told their port before they start). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * An HTTP server listening on a free port before the API exists: the sandbox's IdP must know
 * our OAuth callback URL (and so the port) before the configuration, and so the API, is made.
 */
export async function listeningApiSocket(): Promise<{ server: http.Server; port: number; url: string; redirectUri: string }> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  return { server, port, url, redirectUri: `${url}/oauth/callback` };
}

export async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
