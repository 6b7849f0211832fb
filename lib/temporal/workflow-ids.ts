/**
 * Workflow ids carry their tenant: `<tenant>/<kind>/<idempotencyKey>`. Putting the tenant
 * in the id (and not only in a search attribute) makes two things hold by construction:
 * the same Idempotency-Key from two tenants never collides, and ownership of any id a
 * client hands back can be checked without a round trip to Temporal.
 */

/** What ERPs may send as Idempotency-Key: safe in a URL, a log line and a Temporal id. */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;
/** Same rule as API_KEYS tenants in lib/config/config.ts. */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** e.g. `connectivity`, `efactura-upload`, `etransport`. */
export const KIND_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

export interface ParsedWorkflowId {
  tenant: string;
  kind: string;
  idempotencyKey: string;
}

export class InvalidWorkflowIdPartError extends Error {
  constructor(
    readonly part: 'tenant' | 'kind' | 'idempotencyKey',
    value: string,
  ) {
    super(
      part === 'idempotencyKey'
        ? `Idempotency key must be 1–100 characters of letters, digits, ".", "_", ":" or "-" (got ${JSON.stringify(value.slice(0, 120))})`
        : `Invalid workflow id ${part}: ${JSON.stringify(value.slice(0, 120))}`,
    );
    this.name = 'InvalidWorkflowIdPartError';
  }
}

/**
 * Thrown when a workflow id is not the caller's. Callers answer 404, never 403: a 403
 * would confirm to one tenant that another tenant's id exists.
 */
export class WorkflowNotOwnedError extends Error {
  constructor(readonly workflowId: string) {
    super('Workflow not found');
    this.name = 'WorkflowNotOwnedError';
  }
}

export function isValidIdempotencyKey(key: string): boolean {
  return IDEMPOTENCY_KEY_PATTERN.test(key);
}

export function workflowIdFor(tenant: string, kind: string, idempotencyKey: string): string {
  if (!TENANT_PATTERN.test(tenant)) throw new InvalidWorkflowIdPartError('tenant', tenant);
  if (!KIND_PATTERN.test(kind)) throw new InvalidWorkflowIdPartError('kind', kind);
  if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) throw new InvalidWorkflowIdPartError('idempotencyKey', idempotencyKey);
  return `${tenant}/${kind}/${idempotencyKey}`;
}

/** undefined for anything workflowIdFor could not have produced. */
export function parseWorkflowId(workflowId: string): ParsedWorkflowId | undefined {
  const parts = workflowId.split('/');
  if (parts.length !== 3) return undefined;
  const [tenant, kind, idempotencyKey] = parts as [string, string, string];
  if (!TENANT_PATTERN.test(tenant) || !KIND_PATTERN.test(kind) || !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
    return undefined;
  }
  return { tenant, kind, idempotencyKey };
}

/**
 * Returns the parsed id when `tenant` owns it (and, if given, it is of `kind`); otherwise
 * throws WorkflowNotOwnedError — also for ids that are merely malformed, so that "not
 * yours" and "does not exist" look the same from outside.
 */
export function assertTenantOwns(tenant: string, workflowId: string, kind?: string): ParsedWorkflowId {
  const parsed = parseWorkflowId(workflowId);
  if (!parsed || parsed.tenant !== tenant || (kind !== undefined && parsed.kind !== kind)) {
    throw new WorkflowNotOwnedError(workflowId);
  }
  return parsed;
}
