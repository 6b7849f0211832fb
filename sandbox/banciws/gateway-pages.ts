/**
 * The F5 pages BANCIWS clients meet. Written for the sandbox from the observed wording;
 * not copies of ANAF's markup.
 */

/** What F5 serves with 200 when /my.policy got no acceptable client certificate. */
export function certificateNotPresentedPage(): string {
  return [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><title>Pagina login</title></head>',
    '<body><h3>Acces restrictionat</h3>',
    '<p>Certificatul nu a fost prezentat. Accesul la acest serviciu necesita un certificat digital emis de ANAF.</p>',
    '<p><a href="/my.policy">Porniti o sesiune noua</a></p></body></html>',
  ].join('\n');
}

/** Where F5 ends a session it refused (/vdesk/hangup.php3). */
export function hangupPage(): string {
  return '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Sesiune inchisa</title></head><body><p>Sesiunea a fost inchisa.</p></body></html>';
}

/** What a proxy in front of BANCIWS serves when the service did not answer in time (502/504), after it forwarded the call. */
export function upstreamErrorPage(status: number): string {
  const title = status === 504 ? 'Gateway Timeout' : status === 503 ? 'Service Unavailable' : 'Bad Gateway';
  return `<!DOCTYPE html>\n<html><head><title>${status} ${title}</title></head><body><h1>${title}</h1><p>The server did not answer in time.</p></body></html>`;
}
