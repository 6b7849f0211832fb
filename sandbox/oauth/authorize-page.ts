import { escapeHtml, htmlPage } from '../html';
import type { PendingAuthorization } from './grants';
import type { OAuthClientRegistration, SimulatedCertificate } from './options';
import { DECISION_PATH } from './paths';

/**
 * The qualified-certificate step. At ANAF the browser presents the user's certificate
 * in the TLS handshake; here the page shows which certificate is "presented" and lets
 * the user approve or deny. Two plain forms with hidden fields, so a test's HTTP client
 * can parse the page and post a decision without a browser.
 */

const SIMULATED_ISSUER = 'CN=ANAF Sandbox Qualified CA, O=anaf-flow sandbox, C=RO';

function decisionForm(
  pending: PendingAuthorization,
  certificate: SimulatedCertificate,
  decision: 'approve' | 'deny',
  label: string,
): string {
  return [
    `<form method="post" action="${DECISION_PATH}" id="${decision}-form">`,
    `<input type="hidden" name="request" value="${escapeHtml(pending.id)}">`,
    `<input type="hidden" name="cert_serial" value="${escapeHtml(certificate.serial)}">`,
    `<button type="submit" name="decision" value="${decision}">${escapeHtml(label)}</button>`,
    '</form>',
  ].join('\n');
}

export function renderAuthorizePage(
  pending: PendingAuthorization,
  client: OAuthClientRegistration,
  certificate: SimulatedCertificate,
): string {
  const body = [
    '<h1>logincert.anaf.ro <small>(sandbox anaf-flow)</small></h1>',
    `<p>Aplicația <strong>${escapeHtml(client.clientId)}</strong> solicită acces la serviciile ANAF în numele titularului certificatului de mai jos.</p>`,
    '<h2>Certificat digital calificat prezentat</h2>',
    '<dl>',
    `<dt>Subiect</dt><dd id="cert-subject">${escapeHtml(certificate.subject)}</dd>`,
    `<dt>Serie</dt><dd id="cert-serial">${escapeHtml(certificate.serial)}</dd>`,
    `<dt>Emitent</dt><dd>${escapeHtml(SIMULATED_ISSUER)}</dd>`,
    `<dt>Redirecționare</dt><dd>${escapeHtml(pending.redirectUri)}</dd>`,
    '</dl>',
    decisionForm(pending, certificate, 'approve', 'Aprob'),
    decisionForm(pending, certificate, 'deny', 'Refuz'),
  ].join('\n');
  return htmlPage('Autentificare cu certificat digital - ANAF (sandbox)', body);
}

export function renderAuthorizeError(message: string): string {
  return htmlPage(
    'Eroare autorizare - ANAF (sandbox)',
    `<h1>Cererea de autorizare nu este validă</h1>\n<p id="error">${escapeHtml(message)}</p>`,
  );
}
