import type { Request } from 'express';
import type { z } from 'zod';
import { issuesOf, validationFailed, type ValidationIssue } from './errors';

export type RequestLocation = 'params' | 'query' | 'headers' | 'body';

/** `schema.parse` that fails as 400 VALIDATION_FAILED, issue paths prefixed by where the value came from. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, location: RequestLocation): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationFailed(issuesOf(result.error, location));
  return result.data;
}

/**
 * Header schemas are written with the names as documented (`Idempotency-Key`); Node gives
 * headers lower-cased, so each declared name is looked up case-insensitively.
 */
export function headersFor(req: Request, schema: z.ZodObject): Record<string, string | undefined> {
  return Object.fromEntries(Object.keys(schema.shape).map((name) => [name, req.get(name)]));
}

export interface RequestSchemas {
  params?: z.ZodObject;
  query?: z.ZodObject;
  headers?: z.ZodObject;
  body?: z.ZodType;
}

type Out<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface ValidatedRequest<S extends RequestSchemas> {
  params: Out<S['params']>;
  query: Out<S['query']>;
  headers: Out<S['headers']>;
  body: Out<S['body']>;
}

/** All locations are checked before failing, so one 400 lists every problem. */
export function validateRequest<S extends RequestSchemas>(req: Request, schemas: S): ValidatedRequest<S> {
  const issues: ValidationIssue[] = [];
  const out: Record<RequestLocation, unknown> = { params: undefined, query: undefined, headers: undefined, body: undefined };
  const check = (location: RequestLocation, schema: z.ZodType | undefined, value: () => unknown) => {
    if (!schema) return;
    const result = schema.safeParse(value());
    if (result.success) out[location] = result.data;
    else issues.push(...issuesOf(result.error, location));
  };
  check('params', schemas.params, () => req.params);
  check('query', schemas.query, () => req.query);
  check('headers', schemas.headers, () => (schemas.headers ? headersFor(req, schemas.headers) : undefined));
  check('body', schemas.body, () => req.body);
  if (issues.length > 0) throw validationFailed(issues);
  return out as unknown as ValidatedRequest<S>;
}
