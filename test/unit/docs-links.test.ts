import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';

/**
 * Every relative link in README.md, docs/*.md and examples/README.md names a file that exists and,
 * with a #fragment into a Markdown file, a heading there (GitHub's anchor rules: lower case,
 * punctuation dropped, spaces to dashes).
 */

const ROOT = path.join(__dirname, '../..');
const pages = [
  'README.md',
  'examples/README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

export function githubAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(file: string): Set<string> {
  const text = fs.readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => githubAnchor(m[1] as string)));
}

function linksOf(file: string): string[] {
  const text = fs
    .readFileSync(file, 'utf8')
    .replace(/```[\s\S]*?```/g, '')
    .replace(/`[^`\n]*`/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string).filter((l) => !/^[a-z]+:/i.test(l));
}

describe('documentation links', () => {
  test('GitHub anchors are computed as GitHub does', () => {
    assert.equal(githubAnchor('The promises, and the test that fails without each'), 'the-promises-and-the-test-that-fails-without-each');
    assert.equal(githubAnchor('`npm run cluster`: a real Temporal cluster'), 'npm-run-cluster-a-real-temporal-cluster');
  });

  for (const page of pages) {
    test(`${page}: every relative link resolves`, () => {
      const broken: string[] = [];
      for (const link of linksOf(path.join(ROOT, page))) {
        const [target, fragment] = link.split('#') as [string, string | undefined];
        const file = target ? path.resolve(path.dirname(path.join(ROOT, page)), decodeURIComponent(target)) : path.join(ROOT, page);
        if (!fs.existsSync(file)) {
          broken.push(`${link} (no such file)`);
          continue;
        }
        if (fragment && file.endsWith('.md') && !anchorsOf(file).has(fragment)) broken.push(`${link} (no such heading)`);
      }
      assert.deepEqual(broken, []);
    });
  }
});
