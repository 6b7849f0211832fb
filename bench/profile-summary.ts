/**
 * `npx tsx bench/profile-summary.ts <file.cpuprofile | dir> [top]`: where a V8 CPU profile's time
 * went, as text (no GUI on these machines). Self time summed by function, by file and by
 * group (our code, a dependency, Node internals, the SDK's native core, GC, idle). Profiles come
 * from the bench's worker processes under BENCH_WORKER_PROFILE=<dir> (devkit/worker-process.ts).
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Which part of the process a frame belongs to: ours (by top directory), a package, Node, or V8's own entries. */
export function groupOf(url: string, functionName: string): string {
  if (!url) return `(${functionName || 'native'})`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node:internals';
  const ours = /\/work\/[^/]+\/([^/]+)\//.exec(url) ?? /anaf-flow[^/]*\/([^/]+)\//.exec(url);
  if (ours) return `ours:${ours[1]}`;
  if (url.includes('workflow-bundle')) return 'workflow bundle (in vm)';
  return path.basename(url);
}

/** Self milliseconds per node id, from the samples and their time deltas. */
function selfTimes(profile: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  return self;
}

export function summarize(profiles: CpuProfile[], top = 30): string {
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const byGroup = new Map<string, number>();
  let total = 0;
  let wall = 0;
  for (const profile of profiles) {
    wall += (profile.endTime - profile.startTime) / 1000;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    for (const [id, ms] of selfTimes(profile)) {
      const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
      const add = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + ms);
      const short = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '~/');
      add(byFunction, `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`);
      add(byFile, short || `(${functionName})`);
      add(byGroup, groupOf(url, functionName));
      total += ms;
    }
  }
  const busy = total - (byGroup.get('((idle))') ?? 0);
  const table = (title: string, map: Map<string, number>, n: number) =>
    [
      `${title}`,
      ...[...map]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([k, ms]) => `  ${ms.toFixed(0).padStart(8)} ms ${((100 * ms) / busy).toFixed(1).padStart(5)}%  ${k}`),
    ].join('\n');
  return [
    `${profiles.length} profile(s), ${(wall / 1000).toFixed(1)} s wall, ${(busy / 1000).toFixed(1)} s busy (percentages of busy)`,
    table('by group', byGroup, 25),
    table('by file', byFile, top),
    table('by function', byFunction, top),
  ].join('\n');
}

function main(): void {
  const [target, topArg] = process.argv.slice(2);
  if (!target) throw new Error('usage: profile-summary.ts <file.cpuprofile | dir> [top]');
  const files = fs.statSync(target).isDirectory()
    ? fs
        .readdirSync(target)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => path.join(target, f))
    : [target];
  console.log(
    summarize(
      files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')) as CpuProfile),
      Number(topArg ?? 30),
    ),
  );
}

if (require.main === module) main();
