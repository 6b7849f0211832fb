// Moved to devkit/process-harness.ts: this re-export lasts only until every importer has moved (no test imports bench/).
export * from '../devkit/process-harness';
