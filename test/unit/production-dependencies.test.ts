import assert from 'node:assert/strict';
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

/**
 * The production image installs with `npm ci --omit=dev`: every package that code the
 * worker or the API runs imports must be a production dependency. Type-only imports are
 * erased by tsx, so they may name dev dependencies (@types/*).
 */

const root = path.resolve(__dirname, '../..');
/** What the worker, the API and the operator CLI run; sandbox/, devkit/, test/, bench/ and scripts/ are dev-only. */
const PRODUCTION_DIRS = ['workers', 'api', 'activities', 'workflows', 'lib', 'schemas', 'services', 'cli', 'bin'];

function sourceFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(full);
    return /\.(ts|js|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Bare specifiers of value imports: `import x from 'p'`, `export … from 'p'`, `import('p')`, `require('p')`, `import 'p'`. */
export function runtimeImports(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.push(m[1]!);
  return found;
}

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
  return builtinModules.includes(name) ? undefined : name;
}

test('every package production code imports at run time is a production dependency', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const missing: string[] = [];
  let scanned = 0;
  for (const dir of PRODUCTION_DIRS) {
    for (const file of sourceFiles(path.join(root, dir))) {
      scanned += 1;
      for (const specifier of runtimeImports(fs.readFileSync(file, 'utf8'))) {
        const pkg = packageOf(specifier);
        if (pkg && !(pkg in manifest.dependencies)) missing.push(`${path.relative(root, file)} imports ${pkg}`);
      }
    }
  }
  assert.ok(scanned > 50, `scanned ${scanned} files: the production folders moved?`);
  assert.deepEqual(missing, [], 'imported by production code but not in "dependencies" (npm ci --omit=dev would lack it)');
});

test('the import scan sees value imports and skips type-only ones', () => {
  const source = [
    "import { z } from 'zod';",
    "import type { Foo } from 'only-types';",
    "export { x } from '@scope/pkg/sub';",
    "import 'side-effect';",
    "const m = await import('dyn');",
    "require('tsx/cjs/api');",
  ].join('\n');
  assert.deepEqual(runtimeImports(source).map(packageOf).sort(), ['@scope/pkg', 'dyn', 'side-effect', 'tsx', 'zod']);
});
