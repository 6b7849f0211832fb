import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** The JSON API serves no HTML, so its CSP forbids everything, framing included. */
const apiHeaders = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
});

/** Swagger UI needs its own scripts, inline styles, data: images and fetches of /openapi.json — nothing from elsewhere. */
const docsHeaders = helmet({
  contentSecurityPolicy: {
    directives: {
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      // Helmet's default would make browsers fetch the page's scripts over https even when the API is served over plain http.
      upgradeInsecureRequests: null,
    },
  },
});

export function securityHeaders(): RequestHandler {
  return (req, res, next) => {
    const isDocs = req.path === '/docs' || req.path.startsWith('/docs/');
    (isDocs ? docsHeaders : apiHeaders)(req, res, next);
  };
}
