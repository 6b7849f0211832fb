#!/usr/bin/env node
// The operator CLI (`npx anaf-flow …`): loads the TypeScript entry through tsx, like the other scripts.
require('tsx/cjs/api').register();
require('../cli/main.ts');
