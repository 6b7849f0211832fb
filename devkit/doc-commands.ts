/**
 * The shell commands of the docs, as docs/development.md ("Commands in the docs are tested")
 * describes them: ```sh blocks are run; `# → <status> <shape>` is the answer a command promises;
 * `# browser: …` is a step a person does in a browser. Parsing and matching only; running them is
 * test/integration/docs-commands.test.ts's.
 */

export interface Expectation {
  status?: number;
  /** `"key"` names the answer's JSON must contain (anywhere). */
  keys: string[];
  /** `"key":"value"` pairs shown without `…`: the answer must hold that value at that key. */
  values: Array<[string, string]>;
  text: string;
}

export type DocStep =
  { kind: 'command'; command: string; line: number; expect?: Expectation } | { kind: 'browser'; text: string; line: number };

const ARROW = '# →';

export function parseExpectation(text: string): Expectation {
  const status = /^\s*(\d{3})\b/.exec(text)?.[1];
  const shape = text.replace(/^\s*\d{3}\b/, '');
  const keys = [...shape.matchAll(/"([^"]+)"\s*:/g)].map((m) => m[1] as string);
  const values = [...shape.matchAll(/"([^"]+)"\s*:\s*"([^"…]*)"/g)].map((m) => [m[1], m[2]] as [string, string]);
  return { ...(status ? { status: Number(status) } : {}), keys, values, text: text.trim() };
}

/** Whether bash would still be inside a '…' or "…" string at the end of `text` (a command going on to the next line). */
export function insideQuotes(text: string): boolean {
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (quote === '"') {
      if (c === '\\') i += 1;
      else if (c === '"') quote = undefined;
    } else if (c === '\\') i += 1;
    else if (c === "'" || c === '"') quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      // A comment runs to the end of its line: quotes in it open nothing.
      const end = text.indexOf('\n', i);
      if (end < 0) break;
      i = end;
    }
  }
  return quote !== undefined;
}

/** The ```sh blocks of a Markdown page, as steps in order. */
export function docSteps(markdown: string): DocStep[] {
  const steps: DocStep[] = [];
  const lines = markdown.split('\n');
  let inSh = false;
  let inOther = false;
  let pending: { text: string; line: number } | undefined;
  const lastCommand = () => [...steps].reverse().find((s) => s.kind === 'command') as Extract<DocStep, { kind: 'command' }> | undefined;
  lines.forEach((raw, i) => {
    const fence = /^```(\S*)\s*$/.exec(raw);
    if (fence && !inSh && !inOther) {
      if (fence[1] === 'sh') inSh = true;
      else inOther = true;
      return;
    }
    if (fence && (inSh || inOther)) {
      inSh = inOther = false;
      return;
    }
    if (!inSh) return;
    const line = raw.trimEnd();
    if (!pending) {
      const trimmed = line.trim();
      if (trimmed.startsWith(ARROW)) {
        const target = lastCommand();
        if (target) target.expect = parseExpectation(trimmed.slice(ARROW.length));
        return;
      }
      if (trimmed.startsWith('# browser:')) return void steps.push({ kind: 'browser', text: trimmed.slice(10).trim(), line: i + 1 });
      if (trimmed === '' || trimmed.startsWith('#')) return;
    }
    const text = pending ? `${pending.text}\n${line}` : line;
    const start = pending?.line ?? i + 1;
    if (line.endsWith('\\') || insideQuotes(text)) {
      pending = { text, line: start };
      return;
    }
    pending = undefined;
    const arrowAt = text.lastIndexOf(` ${ARROW}`);
    const command = arrowAt >= 0 ? text.slice(0, arrowAt) : text;
    steps.push({
      kind: 'command',
      command,
      line: start,
      ...(arrowAt >= 0 ? { expect: parseExpectation(text.slice(arrowAt + ARROW.length + 1)) } : {}),
    });
  });
  return steps;
}

function collect(value: unknown, into: Map<string, unknown[]>): void {
  if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      into.set(k, [...(into.get(k) ?? []), v]);
      collect(v, into);
    }
  }
}

/** Why `stdout` (and the last HTTP status) does not match `expect`, or undefined when it does. */
export function mismatch(expect: Expectation, stdout: string, status: number | undefined): string | undefined {
  if (expect.status !== undefined && status !== expect.status) return `HTTP ${status ?? 'none'}, the page says ${expect.status}`;
  if (expect.keys.length === 0) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    return 'the answer is not JSON';
  }
  const found = new Map<string, unknown[]>();
  collect(json, found);
  const missing = expect.keys.filter((k) => !found.has(k));
  if (missing.length) return `no ${missing.map((k) => `"${k}"`).join(', ')} in the answer`;
  const wrong = expect.values.filter(([k, v]) => !(found.get(k) ?? []).some((x) => String(x) === v));
  if (wrong.length) return `${wrong.map(([k, v]) => `"${k}" is not "${v}"`).join(', ')}`;
  return undefined;
}
