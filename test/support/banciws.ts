// Moved to devkit/ (devkit/README.md): this re-export keeps imports written before the move working; import from devkit/.
export { api, type ApiReply } from '../../devkit/api-client';
export * from '../../devkit/fixtures/banciws';
export * from '../../devkit/webhook-receiver';
