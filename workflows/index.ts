// Every workflow the worker registers. Workers bundle this file; keep it free of I/O.
export { connectivityCheck } from './connectivity-check';
