import type { Request } from 'express';
import type { SandboxModuleFactory } from './module';
import { bearerOf, requireBearer } from './oauth/require-bearer';

export const HELLO_PATH = '/TestOauth/jaxrs/hello';

/**
 * The headers as ANAF's hello lists them: the client's own (original spelling, sorted
 * case-insensitively) plus the ones its gateway adds after validating the token. The
 * bearer token is shortened so it never travels back into a client's logs whole.
 */
function helloHeaders(req: Request, serial: string, sessionId: string): Array<[string, string]> {
  const headers: Array<[string, string]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    let value = req.rawHeaders[i + 1] as string;
    if (name.toLowerCase() === 'authorization') value = value.replace(/^(Bearer\s+)(.{2}).*(.)$/i, '$1$2…$3');
    headers.push([name, value]);
  }
  headers.push(['issuer', 'Anaf'], ['serial_certificate', serial], ['session-id', sessionId]);
  return headers.sort(([a], [b]) => a.localeCompare(b, 'en', { sensitivity: 'base' }));
}

/** ANAF's TestOauth service: any valid token may call it (ANAF's procedure, "Serviciul web de test"). */
export const testOauthModule: SandboxModuleFactory = (ctx) => ({
  name: 'testoauth',
  routes(router) {
    router.get(HELLO_PATH, requireBearer(ctx), (req, res) => {
      const identity = bearerOf(req);
      const name = typeof req.query.name === 'string' ? req.query.name : '';
      const lines = [`Hello, ${name}`];
      const headers = helloHeaders(req, identity.subject, identity.familyId);
      headers.forEach(([key, val], i) => lines.push(`${i === 0 ? 'headers=' : ''}key=${key}`, `val=[${val}]`));
      res
        .status(200)
        .type('text/plain; charset=utf-8')
        .send(`${lines.join('\n')}\n`);
    });
  },
});
