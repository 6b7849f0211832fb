import type { Service } from './recording';

/** The connectivity check: one run against the sandbox. */
export const connectivity: Service = {
  scenarios: {
    check: {
      async run(r) {
        const check = await r.api('POST', '/v1/connectivity-checks', { headers: { 'idempotency-key': 'record-check' } });
        await r.stack.client.workflow.getHandle(check.id).result();
        await r.save('connectivity-check', check.id);
      },
    },
  },
};
