// The worker's workflow list for the toy test: the product's own (workflows/index.ts) plus the toy's.
export * from '../../workflows';
export { toyEcho } from './workflow';
