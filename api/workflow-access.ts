import {
  type Client,
  type WorkflowExecutionStatusName,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowHandle,
  type WorkflowStartOptions,
} from '@temporalio/client';
import type { SearchAttributePair, Workflow } from '@temporalio/common';
import { assertTenantOwns, parseWorkflowId, WorkflowNotOwnedError, workflowIdFor } from '../lib/temporal/workflow-ids';
import { AnafService, type AnafServiceName, AnafTenant } from '../lib/temporal/search-attributes';
import type { WorkflowFailureSchema, WorkflowStatusSchema } from './workflow-schemas';
import type { z } from './zod';

/** What the API reports (its schema is the source); Temporal's finer status is kept alongside as `temporalStatus`. */
export type PublicWorkflowStatus = z.infer<typeof WorkflowStatusSchema>;

/** One kind of tenant-owned workflow the API starts, e.g. connectivity checks, e-Factura uploads. */
export interface TenantWorkflowKind {
  /** Middle part of the workflow id: `<tenant>/<kind>/<idempotencyKey>`. */
  kind: string;
  /** Value of the AnafService search attribute; listings filter on it. */
  service: AnafServiceName;
  /** Temporal workflow type (the exported workflow function's name). */
  workflowType: string;
}

export interface StartForTenantOptions<W extends Workflow> {
  idempotencyKey: string;
  /** The workflow function (typed args) or its type name. Defaults to kind.workflowType. */
  workflow?: W | string;
  args: Parameters<W>;
  /** Defaults to the orchestration task queue. */
  taskQueue?: string;
  /** Set at start in addition to AnafTenant and AnafService, so listings see the workflow before any worker runs it. */
  searchAttributes?: SearchAttributePair[];
  memo?: Record<string, unknown>;
}

export interface StartForTenantResult {
  workflowId: string;
  /** RUNNING for a new or still-running workflow; the real outcome when the key names a closed one. */
  status: PublicWorkflowStatus;
  temporalStatus: WorkflowExecutionStatusName;
}

export type WorkflowFailure = z.infer<typeof WorkflowFailureSchema>;

export interface WorkflowSummary {
  id: string;
  status: PublicWorkflowStatus;
  temporalStatus: WorkflowExecutionStatusName;
  startedAt: string;
  closedAt?: string;
}

export interface WorkflowView<R = unknown> extends WorkflowSummary {
  /** Present when COMPLETED. */
  result?: R;
  /** Present when FAILED (failed, timed out, terminated or cancelled). */
  failure?: WorkflowFailure;
}

export function publicStatus(status: WorkflowExecutionStatusName): PublicWorkflowStatus {
  switch (status) {
    case 'RUNNING':
    case 'CONTINUED_AS_NEW':
    case 'PAUSED':
    case 'UNSPECIFIED':
    case 'UNKNOWN':
      return 'RUNNING';
    case 'COMPLETED':
      return 'COMPLETED';
    default:
      return 'FAILED';
  }
}

/** A string literal for a Temporal visibility query; backslash and quote are escaped. */
export function visibilityString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function tenantListQuery(tenant: string, kind: TenantWorkflowKind): string {
  return [
    `AnafTenant = ${visibilityString(tenant)}`,
    `AnafService = ${visibilityString(kind.service)}`,
    `WorkflowType = ${visibilityString(kind.workflowType)}`,
  ].join(' AND ');
}

export interface WorkflowAccessOptions {
  client: Client;
  /** Default task queue for starts (config.temporal.taskQueue). */
  taskQueue: string;
  /** Deadline for each call to Temporal; an unreachable server then fails as TEMPORAL_UNAVAILABLE instead of hanging. */
  rpcTimeoutMs?: number;
}

/**
 * Start / describe / list workflows on behalf of one tenant. Every id that comes in is
 * checked to belong to that tenant (and kind) before Temporal is asked anything; a
 * foreign or unknown id fails with WorkflowNotOwnedError / WorkflowNotFoundError, which
 * the error handler turns into the same 404.
 */
export class WorkflowAccess {
  readonly client: Client;
  private readonly taskQueue: string;
  private readonly rpcTimeoutMs: number;

  constructor(options: WorkflowAccessOptions) {
    this.client = options.client;
    this.taskQueue = options.taskQueue;
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? 10_000;
  }

  private withDeadline<T>(fn: () => Promise<T>): Promise<T> {
    return this.client.withDeadline(Date.now() + this.rpcTimeoutMs, fn);
  }

  /**
   * Idempotent start: the same tenant + kind + key always names the same workflow. A
   * running one is joined (USE_EXISTING); a closed one is not restarted (REJECT_DUPLICATE),
   * its outcome is reported instead — repeating a request never repeats an ANAF submission.
   */
  async start<W extends Workflow>(
    tenant: string,
    kind: TenantWorkflowKind,
    options: StartForTenantOptions<W>,
  ): Promise<StartForTenantResult> {
    const workflowId = workflowIdFor(tenant, kind.kind, options.idempotencyKey);
    try {
      await this.withDeadline(() =>
        this.client.workflow.start(options.workflow ?? kind.workflowType, {
          workflowId,
          taskQueue: options.taskQueue ?? this.taskQueue,
          args: options.args,
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: [
            { key: AnafTenant, value: tenant },
            { key: AnafService, value: kind.service },
            ...(options.searchAttributes ?? []),
          ],
          memo: options.memo,
          // The SDK types `args` conditionally on W; Parameters<W> is exactly what it wants.
        } as unknown as WorkflowStartOptions<W>),
      );
      return { workflowId, status: 'RUNNING', temporalStatus: 'RUNNING' };
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      const description = await this.withDeadline(() => this.client.workflow.getHandle(workflowId).describe());
      return { workflowId, status: publicStatus(description.status.name), temporalStatus: description.status.name };
    }
  }

  /** A handle to the tenant's workflow (for signals, updates, cancel); throws WorkflowNotOwnedError for anyone else's id. */
  handleFor(tenant: string, kind: TenantWorkflowKind, workflowId: string): WorkflowHandle {
    assertTenantOwns(tenant, workflowId, kind.kind);
    return this.client.workflow.getHandle(workflowId);
  }

  async describe<R = unknown>(tenant: string, kind: TenantWorkflowKind, workflowId: string): Promise<WorkflowView<R>> {
    const handle = this.handleFor(tenant, kind, workflowId);
    const description = await this.withDeadline(() => handle.describe());
    // Ids are tenant-prefixed by construction; the search attribute is a second, independent check.
    const owner = description.typedSearchAttributes.get(AnafTenant);
    if ((owner !== undefined && owner !== tenant) || description.type !== kind.workflowType) {
      throw new WorkflowNotOwnedError(workflowId);
    }
    const view: WorkflowView<R> = {
      id: workflowId,
      status: publicStatus(description.status.name),
      temporalStatus: description.status.name,
      startedAt: description.startTime.toISOString(),
      ...(description.closeTime ? { closedAt: description.closeTime.toISOString() } : {}),
    };
    if (view.status === 'RUNNING') return view;
    try {
      view.result = (await this.withDeadline(() => handle.result())) as R;
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
      const cause = err.cause;
      view.failure = {
        message: cause?.message || err.message,
        ...(cause && 'type' in cause && typeof cause.type === 'string' ? { type: cause.type } : cause ? { type: cause.name } : {}),
      };
    }
    return view;
  }

  /** The tenant's workflows of this kind, newest first as Temporal orders them, at most `limit`. */
  async list(tenant: string, kind: TenantWorkflowKind, options: { limit?: number } = {}): Promise<WorkflowSummary[]> {
    const limit = options.limit ?? 50;
    const query = tenantListQuery(tenant, kind);
    return this.withDeadline(async () => {
      const items: WorkflowSummary[] = [];
      for await (const info of this.client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
        const parsed = parseWorkflowId(info.workflowId);
        if (!parsed || parsed.tenant !== tenant || parsed.kind !== kind.kind) continue;
        items.push({
          id: info.workflowId,
          status: publicStatus(info.status.name),
          temporalStatus: info.status.name,
          startedAt: info.startTime.toISOString(),
          ...(info.closeTime ? { closedAt: info.closeTime.toISOString() } : {}),
        });
        if (items.length >= limit) break;
      }
      return items;
    });
  }
}
