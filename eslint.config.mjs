// ESLint flat config. Syntax-only (no type information) so `npm run lint` stays fast.
// The rule that matters most: workflow code runs inside Temporal's deterministic sandbox
// and is replayed, so `workflows/**` may not import Node built-ins, I/O libraries or
// activity implementations (activities are reached through proxyActivities, and their
// modules may be imported for types only).
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The same list Temporal's workflow bundler refuses (it polyfills only assert, url and util),
// so the lint error shows up in the editor rather than at worker start-up.
const BUNDLER_ALLOWED_BUILTINS = new Set(['assert', 'url', 'util']);
const NODE_BUILTINS = builtinModules.filter((name) => !name.startsWith('_') && !BUNDLER_ALLOWED_BUILTINS.has(name));

const IO_LIBRARIES = [
  'undici',
  'express',
  'helmet',
  'swagger-ui-express',
  'pino',
  'pino-pretty',
  'tough-cookie',
  'fast-xml-parser',
  'jose',
  '@temporalio/activity',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/testing',
  '@temporalio/common/lib/internal-non-workflow',
];

const workflowSandboxImports = {
  paths: [
    ...NODE_BUILTINS.map((name) => ({
      name,
      message: 'Workflow code runs in the Temporal sandbox: no Node built-ins. Do I/O in an activity.',
    })),
    ...IO_LIBRARIES.map((name) => ({
      name,
      message: 'Workflow code runs in the Temporal sandbox: no I/O or non-workflow libraries. Do this in an activity.',
    })),
  ],
  patterns: [
    {
      group: ['node:*'],
      message: 'Workflow code runs in the Temporal sandbox: no Node built-ins. Do I/O in an activity.',
    },
    {
      // Sub-paths of the libraries above (e.g. `undici/types`, `pino/file`).
      regex: `^(${IO_LIBRARIES.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})/`,
      message: 'Workflow code runs in the Temporal sandbox: no I/O or non-workflow libraries. Do this in an activity.',
    },
    {
      // `../activities`, `../activities/connectivity`, `../../activities/anaf/x`, …
      regex: '(^|/)activities(/|$)',
      allowTypeImports: true,
      message: 'Workflows reach activities through proxyActivities; import activity modules with `import type` only.',
    },
  ],
};

export default defineConfig(
  {
    ignores: ['node_modules/', 'dist/', 'data/', 'bench/results/', 'coverage/', '**/*.d.ts'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'warn' },
  },
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Plain CommonJS scripts (e.g. bin/) legitimately use require().
    files: ['**/*.js', '**/*.cjs'],
    rules: {
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // One devkit (devkit/README.md): tests, scripts and devkit reach the product's harnesses
    // through devkit/, never through bench/; bench, scripts and devkit never import test/.
    files: ['test/**/*.ts', 'devkit/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+bench(/|$)',
              message: 'Harnesses, fixtures and the chaos suite live in devkit/: import them from there, not from bench/.',
            },
            { regex: '^(\\.\\./)+test/', message: 'Shared helpers live in devkit/: bench, scripts and devkit never import test/.' },
            { regex: '(^|/)support/', message: 'test/support moved to devkit/: import from devkit/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      // The TypeScript version understands `import type` (allowTypeImports); the core rule is replaced.
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': ['error', workflowSandboxImports],
      // Type-only imports written as `import type` are erased by the bundler for sure, so an
      // activity or library module never ends up in the workflow bundle by accident.
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { prefer: 'type-imports', fixStyle: 'separate-type-imports', disallowTypeAnnotations: true },
      ],
      // `import { type A } from '../activities/x'` → `import type { A } …`, never a side-effect import.
      '@typescript-eslint/no-import-type-side-effects': 'error',
      // require() is already an error everywhere in TypeScript (@typescript-eslint/no-require-imports).
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression',
          message: 'Workflow code cannot load modules at run time; import statically.',
        },
      ],
    },
  },
);
