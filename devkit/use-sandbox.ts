import { after, before } from 'node:test';
import { createSandbox, type RunningSandbox, type SandboxOptions } from '../sandbox';

/**
 * A sandbox per test file: started in `before` on a free port, closed in `after`.
 * Call at the top level of the file (or of a describe) and read `.sandbox` inside tests.
 */
export interface SandboxHandle {
  readonly sandbox: RunningSandbox;
  readonly url: string;
}

export function useSandbox(options: SandboxOptions = {}): SandboxHandle {
  let running: RunningSandbox | undefined;
  before(async () => {
    running = await createSandbox({ port: 0, ...options });
  });
  after(async () => {
    await running?.close();
  });
  const current = (): RunningSandbox => {
    if (!running) throw new Error('the sandbox is used before `before` started it (call useSandbox at the top of the file)');
    return running;
  };
  return {
    get sandbox() {
      return current();
    },
    get url() {
      return current().url;
    },
  };
}
