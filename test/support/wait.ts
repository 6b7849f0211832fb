// Moved to devkit/ (devkit/README.md): this re-export keeps imports written before the move working; import from devkit/.
export * from '../../devkit/wait';
