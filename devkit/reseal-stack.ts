import type { TokenSealingKeys } from '../lib/crypto/token-sealing-keys';
import { type Stack, startStack, startWorkers } from './stack';

type KeyPair = { publicKey: string; privateKey: string };

/**
 * For re-seal tests: a stack whose workers hold two TOKEN_SEALING key pairs, `new-2` (the newest:
 * it seals) and `old-1` (what sealed before a key rotation). `restartWorkersWith` gives the
 * workers fewer keys, as once the old one is retired.
 */
export class ResealStack {
  stack!: Stack;
  private workers: { stop(): Promise<void> } | undefined;

  constructor(
    private readonly newest: KeyPair,
    private readonly old: KeyPair,
  ) {}

  async start(): Promise<Stack> {
    this.stack = await startStack({
      workers: false,
      configOverrides: { TOKEN_SEALING_PRIVATE_KEYS: `new-2:${this.newest.privateKey},old-1:${this.old.privateKey}` },
    });
    this.workers = await startWorkers(this.stack);
    return this.stack;
  }

  /** The stack's keys with id `id` only. */
  only(id: string): TokenSealingKeys {
    const keys = this.stack.config.tokenSealing;
    return {
      publicKeys: keys.publicKeys.filter((k) => k.id === id),
      privateKeys: keys.privateKeys.filter((k) => k.id === id),
      legacyKeys: [],
    };
  }

  async restartWorkersWith(tokenSealing: TokenSealingKeys): Promise<void> {
    await this.workers?.stop();
    this.workers = await startWorkers({ ...this.stack, config: { ...this.stack.config, tokenSealing } });
  }

  async close(): Promise<void> {
    await this.workers?.stop();
    await this.stack?.close();
  }
}
