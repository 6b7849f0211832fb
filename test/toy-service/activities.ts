import { request } from 'undici';
import type { AppConfig } from '../../lib/config/config';

/** The toy's activity: one GET to ANAF's API host (the sandbox in tests). */
export function createToyActivities(config: Pick<AppConfig, 'anaf'>) {
  return {
    async echoFromAnaf(word: string): Promise<string> {
      const res = await request(new URL(`/toy/echo/${encodeURIComponent(word)}`, config.anaf.apiBaseUrl));
      if (res.statusCode !== 200) throw new Error(`toy echo answered ${res.statusCode}`);
      return ((await res.body.json()) as { echo: string }).echo;
    },
  };
}

export type ToyActivities = ReturnType<typeof createToyActivities>;
