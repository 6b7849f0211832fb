// Moved to devkit/ (devkit/README.md): this re-export keeps imports written before the move working; import from devkit/.
export * from '../../devkit/api-client';
export * from '../../devkit/fixtures/invoice';
export { authorizeOrganization } from '../../devkit/oauth-walk';
export { finished, submissionWhen } from '../../devkit/views';
export * from '../../devkit/wait';
