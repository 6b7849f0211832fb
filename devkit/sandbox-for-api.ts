import { createSandbox, type RunningSandbox, type SandboxOptions } from '../sandbox';

/** The OAuth client both launchers register with the sandbox's IdP, and the API then uses. */
export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

/** The ANAF sandbox on a free port, its IdP knowing `client` with our callback as its redirect URI. */
export function sandboxForApi(client: OAuthClient, redirectUri: string, options: SandboxOptions = {}): Promise<RunningSandbox> {
  return createSandbox({
    port: 0,
    ...options,
    oauth: { clients: [{ ...client, redirectUris: [redirectUri] }], ...options.oauth },
  });
}

/** The configuration that points the product at that sandbox and at its own API socket. */
export function sandboxApiEnv(
  sandbox: RunningSandbox,
  client: OAuthClient,
  api: { port: number; url: string; redirectUri: string },
): Record<string, string> {
  return {
    ANAF_OAUTH_BASE_URL: `${sandbox.url}/anaf-oauth2/v1`,
    ANAF_API_BASE_URL: `${sandbox.url}/test`,
    ANAF_CLIENT_ID: client.clientId,
    ANAF_CLIENT_SECRET: client.clientSecret,
    ANAF_REDIRECT_URI: api.redirectUri,
    API_PORT: String(api.port),
    API_PUBLIC_URL: api.url,
  };
}
