import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// `.openapi(...)` on schemas needs this once per process, before any schema uses it.
// API modules import `z` from here so the order can never be wrong.
extendZodWithOpenApi(z);

export { z };
