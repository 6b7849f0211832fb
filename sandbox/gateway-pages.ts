import { escapeHtml } from './html';

/**
 * The pages ANAF's F5 BIG-IP puts in front of its services. Clients must recognise them
 * as "the gateway refused, the service never saw it" rather than parse them as data.
 * Written for the sandbox from the observed wording; not copies of ANAF's markup.
 */

/** The ASM (WAF) rejection page. F5 serves it with 200, which is what makes it treacherous. */
export function wafRejectedPage(supportId: string): string {
  return [
    '<html><head><title>Request Rejected</title></head>',
    '<body>The requested URL was rejected. Please consult with your administrator.<br><br>',
    `Your support ID is: ${escapeHtml(supportId)}<br><br>`,
    `<a href='javascript:history.back();'>[Go Back]</a></body></html>`,
  ].join('');
}

/** The APM access-policy page a client lands on when the gateway wants a session (e.g. after /my.policy). */
export function gatewayLogonPage(): string {
  return [
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML//EN">',
    '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
    '<meta http-equiv="cache-control" content="no-cache"><title>Pagina login</title></head>',
    '<body><h3>Acces restrictionat</h3>',
    '<p>Sesiunea nu este activa. Accesul la aceasta resursa necesita autentificare cu certificat digital.</p>',
    '<p><a href="/my.policy">Porniti o sesiune noua</a></p></body></html>',
  ].join('\n');
}
