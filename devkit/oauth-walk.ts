import assert from 'node:assert/strict';
import { request } from 'undici';
import { AUTHORIZE_PATH, DEFAULT_CLIENT, HELLO_PATH, TOKEN_PATH, type TokenResponse } from '../sandbox';
import { callApi } from './api-client';

/**
 * ANAF's OAuth consent as a user walks it, against the sandbox's IdP: its pages parsed as a
 * browser would submit them, the token endpoint, TestOauth's hello, and the whole
 * "register the organization, approve on ANAF's page, land on our callback" through the API.
 */

export const SANDBOX_CLIENT = DEFAULT_CLIENT;
export const SANDBOX_REDIRECT_URI = DEFAULT_CLIENT.redirectUris[0] as string;

export function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`;
}

export interface HtmlForm {
  action: string;
  method: string;
  /** Hidden and text inputs, by name. */
  fields: Record<string, string>;
  buttons: Array<{ name: string; value: string }>;
}

function attributes(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)\s*=\s*"([^"]*)"/g)) out[(m[1] as string).toLowerCase()] = unescapeHtml(m[2] as string);
  return out;
}

function unescapeHtml(s: string): string {
  return s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** What a browser would submit: enough HTML parsing for the sandbox's own pages, nothing more. */
export function parseForms(html: string): HtmlForm[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => {
    const attrs = attributes(m[1] as string);
    const inner = m[2] as string;
    const fields: Record<string, string> = {};
    for (const input of inner.matchAll(/<input\b([^>]*)>/gi)) {
      const a = attributes(input[1] as string);
      if (a.name) fields[a.name] = a.value ?? '';
    }
    const buttons = [...inner.matchAll(/<button\b([^>]*)>/gi)]
      .map((b) => attributes(b[1] as string))
      .filter((a) => a.name)
      .map((a) => ({ name: a.name as string, value: a.value ?? '' }));
    return { action: attrs.action ?? '', method: (attrs.method ?? 'get').toLowerCase(), fields, buttons };
  });
}

export interface AuthorizeParams {
  clientId?: string;
  redirectUri?: string;
  state?: string;
  /** Query parameter choosing the simulated certificate. */
  certSerial?: string;
  /** Default 'jwt', as ANAF's procedure asks; null leaves it out. */
  tokenContentType?: 'jwt' | null;
  responseType?: string;
}

export function authorizeUrl(baseUrl: string, p: AuthorizeParams = {}): string {
  const url = new URL(AUTHORIZE_PATH, baseUrl);
  url.searchParams.set('response_type', p.responseType ?? 'code');
  url.searchParams.set('client_id', p.clientId ?? SANDBOX_CLIENT.clientId);
  url.searchParams.set('redirect_uri', p.redirectUri ?? SANDBOX_REDIRECT_URI);
  if (p.state !== undefined) url.searchParams.set('state', p.state);
  if (p.tokenContentType !== null) url.searchParams.set('token_content_type', p.tokenContentType ?? 'jwt');
  if (p.certSerial !== undefined) url.searchParams.set('cert_serial', p.certSerial);
  return url.toString();
}

export interface AuthorizeResult {
  location: URL;
  code?: string;
  state?: string;
  error?: string;
}

/** Plays the user: opens the authorize page, submits the Approve (or Deny) form, returns where the IdP redirects. */
export async function walkAuthorizePage(
  baseUrl: string,
  p: AuthorizeParams & { decision?: 'approve' | 'deny'; postedCertSerial?: string } = {},
): Promise<AuthorizeResult> {
  const page = await request(authorizeUrl(baseUrl, p));
  const html = await page.body.text();
  assert.equal(page.statusCode, 200, `authorize page answered ${page.statusCode}: ${html.slice(0, 300)}`);
  const decision = p.decision ?? 'approve';
  const form = parseForms(html).find((f) => f.buttons.some((b) => b.value === decision));
  assert.ok(form, `no form with a ${decision} button on the authorize page`);
  assert.equal(form.method, 'post');
  const button = form.buttons.find((b) => b.value === decision) as { name: string; value: string };
  const fields = { ...form.fields, [button.name]: button.value, ...(p.postedCertSerial ? { cert_serial: p.postedCertSerial } : {}) };
  const res = await request(new URL(form.action, baseUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  await res.body.dump();
  assert.equal(res.statusCode, 302, `decision answered ${res.statusCode}`);
  const location = new URL(String(res.headers.location));
  const get = (k: string) => location.searchParams.get(k) ?? undefined;
  return {
    location,
    ...(get('code') ? { code: get('code') } : {}),
    ...(get('state') ? { state: get('state') } : {}),
    ...(get('error') ? { error: get('error') } : {}),
  };
}

export type ClientAuth = { basic: [string, string] } | { form: [string, string] } | 'none';

export interface JsonAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: T;
}

/** POST to the token endpoint as a form; the default client authenticates with Basic, like ANAF's procedure. */
export async function tokenRequest<T = Record<string, unknown>>(
  baseUrl: string,
  form: Record<string, string>,
  auth: ClientAuth = { basic: [SANDBOX_CLIENT.clientId, SANDBOX_CLIENT.clientSecret] },
  path = TOKEN_PATH,
): Promise<JsonAnswer<T>> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  const body = new URLSearchParams(form);
  if (auth !== 'none' && 'basic' in auth) headers.authorization = basicAuth(...auth.basic);
  if (auth !== 'none' && 'form' in auth) {
    body.set('client_id', auth.form[0]);
    body.set('client_secret', auth.form[1]);
  }
  const res = await request(new URL(path, baseUrl), { method: 'POST', headers, body: body.toString() });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: (text ? JSON.parse(text) : {}) as T };
}

/** The whole authorization-code flow with the default client: a fresh JWT pair. */
export async function obtainTokens(
  baseUrl: string,
  p: AuthorizeParams & { postedCertSerial?: string; auth?: ClientAuth } = {},
): Promise<TokenResponse> {
  const { code } = await walkAuthorizePage(baseUrl, { state: 'obtain', ...p });
  assert.ok(code, 'the authorize step gave no code');
  const tokenContentType: Record<string, string> = p.tokenContentType === null ? {} : { token_content_type: p.tokenContentType ?? 'jwt' };
  const res = await tokenRequest<TokenResponse>(
    baseUrl,
    { grant_type: 'authorization_code', code, redirect_uri: p.redirectUri ?? SANDBOX_REDIRECT_URI, ...tokenContentType },
    p.auth,
  );
  assert.equal(res.status, 200, `code exchange answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json;
}

/** ANAF's TestOauth hello; `token` undefined sends no Authorization header. */
export async function hello(baseUrl: string, token: string | undefined, name = 'anaf-flow'): Promise<{ status: number; body: string }> {
  const url = new URL(HELLO_PATH, baseUrl);
  url.searchParams.set('name', name);
  const res = await request(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.statusCode, body: await res.body.text() };
}

/**
 * Registers the organization (if new) and gives the user's consent at ANAF for one scope, up to
 * the moment the browser would come back: returns the request's id and the callback URL (with the code).
 */
export async function consentAtAnaf(
  stack: { apiUrl: string; sandbox: { url: string } },
  key: string,
  cif: string,
  scope: 'EFACTURA' | 'ETRANSPORT' = 'EFACTURA',
  /** The request's other fields, e.g. `oauthCallback` to sign in with another credential set. */
  requestFields: Record<string, unknown> = {},
): Promise<{ requestId: string; callback: URL; shortUrl: string }> {
  const org = await callApi(stack, key, 'POST', '/v1/organizations', { json: { cif, name: `Company ${cif}` } });
  assert.ok(org.status === 201 || org.json?.error?.code === 'ORGANIZATION_EXISTS', org.text);
  const created = await callApi(stack, key, 'POST', `/v1/organizations/${cif}/authorization-requests`, {
    json: { scope, ...requestFields },
  });
  assert.equal(created.status, 201, created.text);
  const anafUrl = new URL(created.json.url as string);
  const walked = await walkAuthorizePage(stack.sandbox.url, {
    clientId: anafUrl.searchParams.get('client_id')!,
    redirectUri: anafUrl.searchParams.get('redirect_uri')!,
    state: anafUrl.searchParams.get('state')!,
    decision: 'approve',
  });
  return { requestId: created.json.id as string, callback: walked.location, shortUrl: created.json.shortUrl as string };
}

/** Registers the organization and walks the whole OAuth consent, as a user would, for one scope. */
export async function authorizeOrganization(
  stack: { apiUrl: string; sandbox: { url: string } },
  key: string,
  cif: string,
  scope: 'EFACTURA' | 'ETRANSPORT' = 'EFACTURA',
): Promise<void> {
  const { callback } = await consentAtAnaf(stack, key, cif, scope);
  const res = await request(callback.toString());
  const page = await res.body.text();
  assert.equal(res.statusCode, 200, page);
}

/**
 * One sign-in for many companies (POST /v1/authorization-requests with `body`), approved on ANAF's
 * page with the certificate `certSerial`, ANAF's redirect followed to our callback (200). Returns
 * the authorization's id and the code and state seen on the way (for secret scans).
 */
export async function signInWithCertificate(
  stack: { apiUrl: string; sandbox: { url: string } },
  key: string,
  body: Record<string, unknown>,
  certSerial: string,
): Promise<{ authorizationId: string; code?: string; state?: string }> {
  const created = await callApi(stack, key, 'POST', '/v1/authorization-requests', { json: body });
  assert.equal(created.status, 201, created.text);
  const q = new URL(created.json.url as string).searchParams;
  const walked = await walkAuthorizePage(stack.sandbox.url, {
    clientId: q.get('client_id')!,
    redirectUri: q.get('redirect_uri')!,
    state: q.get('state')!,
    certSerial,
  });
  const callback = await request(walked.location.toString());
  assert.equal(callback.statusCode, 200, await callback.body.text());
  return {
    authorizationId: created.json.authorizationId as string,
    ...(walked.code ? { code: walked.code } : {}),
    ...(walked.state ? { state: walked.state } : {}),
  };
}
