import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';

/**
 * Static checks of docker-compose.yml and the Dockerfile: no Docker engine is needed, so
 * they run everywhere CI runs. Values are interpolated the way Compose does it, with
 * every variable unset, i.e. what `docker compose up` gets from the defaults alone.
 */

const root = path.resolve(__dirname, '../..');
const composeText = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
const dockerfileText = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');

interface Service {
  image?: string;
  deploy?: { replicas?: number | string };
  configs?: Array<string | { source: string; target?: string }>;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | number | { target: number; published?: string | number }>;
  profiles?: string[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  volumes?: Array<string | { type?: string; source?: string; target: string }>;
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  configs?: Record<string, { content?: string; file?: string }>;
}

// Compose's interpolation (https://docs.docker.com/reference/compose-file/interpolation/),
// with nesting: ${VAR}, $VAR, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+r}, ${VAR+r}, $$.
function interpolate(input: string, env: Record<string, string | undefined> = {}): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch !== '$') {
      out += ch;
      i += 1;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      // find the matching brace, allowing nested ${…}
      let depth = 1;
      let j = i + 2;
      while (j < input.length && depth > 0) {
        if (input[j] === '$' && input[j + 1] === '{') {
          depth += 1;
          j += 2;
          continue;
        }
        if (input[j] === '}') depth -= 1;
        j += 1;
      }
      if (depth !== 0) throw new Error(`unterminated \${ in ${JSON.stringify(input)}`);
      const body = input.slice(i + 2, j - 1);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
      if (!m) throw new Error(`bad substitution \${${body}}`);
      const [, name, op, arg = ''] = m;
      const value = env[name!];
      const set = value !== undefined;
      const nonEmpty = set && value !== '';
      switch (op) {
        case undefined:
          out += value ?? '';
          break;
        case ':-':
          out += nonEmpty ? value : interpolate(arg, env);
          break;
        case '-':
          out += set ? value : interpolate(arg, env);
          break;
        case ':?':
        case '?':
          if (op === ':?' ? !nonEmpty : !set) throw new RequiredVariableError(name!, interpolate(arg, env));
          out += value;
          break;
        case ':+':
          out += nonEmpty ? interpolate(arg, env) : '';
          break;
        case '+':
          out += set ? interpolate(arg, env) : '';
          break;
      }
      i = j;
      continue;
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(input.slice(i + 1));
    if (bare) {
      out += env[bare[0]] ?? '';
      i += 1 + bare[0].length;
      continue;
    }
    out += '$';
    i += 1;
  }
  return out;
}

class RequiredVariableError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`required variable ${variable} is missing: ${detail}`);
  }
}

/** The value with defaults applied; required variables that are unset become `<required:NAME>`. */
function resolved(raw: unknown): string {
  const text = String(raw);
  try {
    return interpolate(text);
  } catch (err) {
    if (err instanceof RequiredVariableError) return `<required:${err.variable}>`;
    throw err;
  }
}

function envOf(service: Service): Map<string, string> {
  const env = new Map<string, string>();
  const e = service.environment;
  if (Array.isArray(e)) {
    for (const entry of e) {
      const sep = entry.indexOf('=');
      env.set(sep < 0 ? entry : entry.slice(0, sep), sep < 0 ? '' : entry.slice(sep + 1));
    }
  } else if (e) {
    for (const [k, v] of Object.entries(e)) env.set(k, v === null ? '' : String(v));
  }
  return env;
}

/** `ip` is the host address the port is bound to; '' means every interface. */
function publishedPorts(service: Service): Array<{ ip: string; host: string; container: string }> {
  return (service.ports ?? []).map((p) => {
    if (typeof p === 'object') return { ip: '', host: resolved(p.published ?? ''), container: String(p.target) };
    const parts = resolved(p)
      .replace(/\/(tcp|udp)$/, '')
      .split(':');
    const container = parts.pop()!;
    const host = parts.pop() ?? '';
    return { ip: parts.join(':'), host, container };
  });
}

function commandWords(cmd: string | string[] | undefined): string[] {
  if (cmd === undefined) return [];
  return (Array.isArray(cmd) ? cmd : cmd.split(/\s+/)).map((w) => resolved(w)).filter(Boolean);
}

/** `image:tag` is pinned when the tag names an exact release (or the image is digest-pinned). */
function pinnedProblem(image: string): string | undefined {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return undefined;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return 'has no tag (means latest)';
  const tag = image.slice(colon + 1);
  if (tag === '' || /latest/i.test(tag)) return `uses tag "${tag}"`;
  if (!/^v?\d+\.\d+/.test(tag)) return `tag "${tag}" is not an exact version`;
  return undefined;
}

const compose = parse(composeText, { merge: true }) as ComposeFile;
const services = compose.services;

function service(name: string): Service {
  const s = services[name];
  assert.ok(s, `service ${name} is missing`);
  return s;
}

const REQUIRED_APP_ENV = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'ANAF_ENV',
  'ANAF_OAUTH_BASE_URL',
  'ANAF_API_BASE_URL',
  'BANCIWS_BASE_URL',
  'ANAF_CLIENT_ID',
  'ANAF_CLIENT_SECRET',
  'ANAF_REDIRECT_URI',
  'BANCIWS_CLIENT_CERT',
  'BANCIWS_CLIENT_KEY',
  'BANCIWS_PFX',
  'BANCIWS_PASSPHRASE',
  'BANCIWS_CA',
  'PAYLOAD_ENCRYPTION_KEYS',
  'API_PORT',
  'API_KEYS',
  'DATA_DIR',
] as const;
const API_ONLY_ENV = new Set(['API_PORT', 'API_KEYS']);

function referencedSourceFiles(words: string[]): string[] {
  return words.filter((w) => /\.(ts|mts|cts|js|mjs|cjs)$/.test(w) && !w.startsWith('-'));
}

function assertFileReferencesExist(where: string, files: string[]): void {
  for (const file of files) {
    const normalized = path.posix.normalize(file.replace(/^\/app\//, ''));
    if (normalized.startsWith('dist/')) continue; // build output, made by the image build itself
    assert.ok(fs.existsSync(path.join(root, normalized)), `${where} runs ${file}, which is not in the repository`);
  }
}

describe('interpolate (Compose variable syntax)', () => {
  test('defaults, required values, nesting and $$', () => {
    assert.equal(interpolate('${A:-x}'), 'x');
    assert.equal(interpolate('${A:-x}', { A: '' }), 'x');
    assert.equal(interpolate('${A-x}', { A: '' }), '');
    assert.equal(interpolate('${A:-${B:-y}}/z'), 'y/z');
    assert.equal(interpolate('$$HOME ${A}', { A: 'a' }), '$HOME a');
    assert.equal(interpolate('${A:+on}', { A: '1' }), 'on');
    assert.throws(() => interpolate('${A:?set A}'), /required variable A/);
    assert.throws(() => interpolate('${A:?set A}', { A: '' }), /required variable A/);
    assert.equal(interpolate('${A?set A}', { A: '' }), '');
  });
});

describe('docker-compose.yml', () => {
  test('defines the production-like stack', () => {
    for (const name of ['postgresql', 'temporal-schema', 'temporal', 'temporal-namespace', 'temporal-ui', 'worker', 'api', 'sandbox'])
      service(name);
  });

  test('the sandbox runs only under the "sandbox" profile; the core stack has no profile', () => {
    assert.deepEqual(service('sandbox').profiles, ['sandbox']);
    for (const name of ['postgresql', 'temporal', 'temporal-ui', 'worker', 'api']) {
      assert.equal(service(name).profiles, undefined, `${name} must start with a plain \`docker compose up\``);
    }
  });

  test('every image is pinned to an exact version, never latest', () => {
    for (const [name, s] of Object.entries(services)) {
      if (s.image === undefined) {
        assert.ok(s.build !== undefined, `${name} has neither image nor build`);
        continue;
      }
      const image = resolved(s.image);
      if (s.build !== undefined) {
        // Built here from the pinned Dockerfile; the tag only names the local build.
        assert.doesNotMatch(image, /:latest$|^[^:]*$/, `${name}: built image ${image} must carry an explicit, non-latest tag`);
        continue;
      }
      const problem = pinnedProblem(image);
      assert.equal(problem, undefined, `${name}: image ${image} ${problem}`);
    }
  });

  test('PostgreSQL keeps its data in a volume and reports health', () => {
    const pg = service('postgresql');
    assert.match(resolved(pg.image), /^postgres:16\.\d+/);
    const volumes = (pg.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    assert.ok(
      volumes.some((v) => /^[A-Za-z0-9_-]+:\/var\/lib\/postgresql\/data$/.test(v)),
      'postgres data must live in a named volume',
    );
    assert.ok(compose.volumes && Object.keys(compose.volumes).some((v) => volumes.some((m) => m.startsWith(`${v}:`))));
    assert.ok(pg.healthcheck?.test, 'postgresql needs a healthcheck');
  });

  test('Temporal uses PostgreSQL and waits until it is healthy', () => {
    const t = service('temporal');
    // The server image, after a one-shot admin-tools service set up the schemas (version: compose-version.test.ts).
    assert.match(resolved(t.image), /^temporalio\/server:1\.\d+\.\d+$/);
    const env = envOf(t);
    assert.match(resolved(env.get('DB')), /^postgres12(_pgx)?$/);
    assert.equal(resolved(env.get('POSTGRES_SEEDS')), 'postgresql');
    assert.ok(env.has('POSTGRES_USER') && env.has('POSTGRES_PWD'));
    const deps = t.depends_on;
    assert.ok(deps && !Array.isArray(deps), 'temporal depends_on must use the long form');
    assert.equal(deps.postgresql?.condition, 'service_healthy');
    assert.equal(deps['temporal-schema']?.condition, 'service_completed_successfully', 'the schemas are set up before the server starts');
    assert.ok(publishedPorts(t).some((p) => p.container === '7233'));
    // In a container the server must listen beyond its own loopback (the image's template default).
    assert.equal(resolved(env.get('BIND_ON_IP')), '0.0.0.0');
    const schema = service('temporal-schema');
    assert.equal((schema.depends_on as Record<string, { condition?: string }>).postgresql?.condition, 'service_healthy');
    const steps = commandWords(schema.command).join(' ');
    for (const step of ['create-database', 'setup-schema -v 0.0', 'update-schema -d /etc/temporal/schema/postgresql/v12/$dir/versioned'])
      assert.ok(steps.includes(step), step);
    assert.ok(envOf(schema).has('SQL_PASSWORD'), 'the password goes through the environment');
  });

  test('Temporal and its Web UI (no auth of their own) are published on the loopback only; UI write actions off by default', () => {
    for (const name of ['temporal', 'temporal-ui']) {
      const ports = publishedPorts(service(name));
      assert.ok(ports.length > 0, name);
      for (const p of ports) assert.equal(p.ip, '127.0.0.1', `${name} publishes ${p.host} on every interface`);
    }
    const ui = envOf(service('temporal-ui'));
    assert.equal(resolved(ui.get('TEMPORAL_DISABLE_WRITE_ACTIONS')), 'true');
  });

  test('the production image installs without dev dependencies; only the sandbox target has them', () => {
    const sandbox = service('sandbox');
    assert.deepEqual(sandbox.build, { context: '.', target: 'sandbox' });
    assert.notEqual(resolved(sandbox.image), resolved(service('api').image), 'the sandbox image is not the product image');
    const stage = (name: string) => {
      const start = instructionsOf(dockerfileText).findIndex((l) => new RegExp(`^FROM\\s.*\\sAS\\s${name}$`, 'i').test(l));
      assert.ok(start >= 0, `stage ${name}`);
      const rest = instructionsOf(dockerfileText).slice(start + 1);
      const end = rest.findIndex((l) => /^FROM\s/i.test(l));
      return end < 0 ? rest : rest.slice(0, end);
    };
    assert.ok(
      stage('deps').some((l) => /\bnpm ci\b.*--omit=dev/.test(l)),
      'the product installs with --omit=dev',
    );
    assert.ok(
      stage('sandbox').some((l) => /\bnpm ci\b.*--include=dev/.test(l)),
      'the sandbox stage installs dev dependencies',
    );
  });

  test('the Web UI points at temporal:7233, decodes through the codec endpoint and is published on 8233', () => {
    const ui = service('temporal-ui');
    assert.match(resolved(ui.image), /^temporalio\/ui:2\.\d+\.\d+$/);
    const env = envOf(ui);
    assert.equal(resolved(env.get('TEMPORAL_ADDRESS')), 'temporal:7233');
    const codec = resolved(env.get('TEMPORAL_CODEC_ENDPOINT'));
    assert.equal(codec, 'http://localhost:8080/codec');
    assert.ok(env.has('TEMPORAL_CORS_ORIGINS'));
    assert.ok(publishedPorts(ui).some((p) => p.host === '8233' && p.container === '8080'));
  });

  test('the API publishes 8080 and is health-checked on /healthz', () => {
    const api = service('api');
    assert.ok(publishedPorts(api).some((p) => p.host === '8080' && p.container === resolved(envOf(api).get('API_PORT'))));
    const check = api.healthcheck?.test;
    assert.ok(check, 'api needs a healthcheck');
    assert.match(Array.isArray(check) ? check.join(' ') : check, /\/healthz/);
  });

  test('worker and api run the same image and wait for a healthy Temporal', () => {
    const worker = service('worker');
    const api = service('api');
    assert.ok(worker.build !== undefined && api.build !== undefined);
    assert.equal(resolved(worker.image), resolved(api.image));
    for (const s of [worker, api]) {
      const deps = s.depends_on;
      assert.ok(deps && !Array.isArray(deps) && deps.temporal, 'depends on temporal');
      assert.equal(deps.temporal.condition, 'service_healthy');
      assert.equal(deps['temporal-namespace']?.condition, 'service_completed_successfully', 'the namespace exists first');
    }
    // node runs the entry point itself (PID under init): SIGTERM reaches the app, which drains.
    // `npx tsx …` would exit on SIGTERM without forwarding it.
    assert.deepEqual(commandWords(worker.command), ['node', '--import', 'tsx', 'workers/main.ts']);
    assert.deepEqual(commandWords(api.command), ['node', '--import', 'tsx', 'api/main.ts']);
    assert.deepEqual(commandWords(service('sandbox').command), ['node', '--import', 'tsx', 'sandbox/main.ts']);
    for (const [name, s] of Object.entries(services)) {
      assert.notEqual(commandWords(s.command)[0], 'npx', `${name}: npx does not forward SIGTERM`);
    }
  });

  for (const name of ['worker', 'api'] as const) {
    test(`${name} receives every configuration variable`, () => {
      const env = envOf(service(name));
      for (const variable of REQUIRED_APP_ENV) {
        if (name === 'worker' && API_ONLY_ENV.has(variable)) continue;
        assert.ok(env.has(variable), `${name} is missing ${variable}`);
      }
    });
  }

  test('the API gets the token-sealing public keys only; workers the private keys', () => {
    const api = envOf(service('api'));
    const worker = envOf(service('worker'));
    assert.equal(resolved(api.get('TOKEN_SEALING_PUBLIC_KEYS')), '<required:TOKEN_SEALING_PUBLIC_KEYS>');
    assert.equal(resolved(worker.get('TOKEN_SEALING_PRIVATE_KEYS')), '<required:TOKEN_SEALING_PRIVATE_KEYS>');
    for (const name of ['TOKEN_SEALING_PRIVATE_KEYS', 'TOKEN_ENCRYPTION_KEYS'])
      assert.ok(!api.has(name), `the API must not receive ${name}`);
  });

  test('secrets are required, ANAF defaults to the sandbox service, and both share the /data volume', () => {
    for (const name of ['worker', 'api']) {
      const s = service(name);
      const env = envOf(s);
      assert.equal(resolved(env.get('PAYLOAD_ENCRYPTION_KEYS')), '<required:PAYLOAD_ENCRYPTION_KEYS>', name);
      if (name === 'api') assert.equal(resolved(env.get('API_KEYS')), '<required:API_KEYS>', name);
      assert.equal(resolved(env.get('TEMPORAL_ADDRESS')), 'temporal:7233', name);
      assert.equal(resolved(env.get('ANAF_ENV')), 'sandbox', name);
      assert.equal(
        resolved(env.get('ANAF_ENV')),
        interpolate(env.get('ANAF_ENV')!, { ANAF_ENV: '' }),
        'empty ANAF_ENV still means sandbox',
      );
      assert.equal(interpolate(env.get('ANAF_ENV')!, { ANAF_ENV: 'prod' }), 'prod', 'ANAF_ENV is overridable');
      for (const variable of ['ANAF_OAUTH_BASE_URL', 'ANAF_API_BASE_URL', 'BANCIWS_BASE_URL']) {
        const url = new URL(resolved(env.get(variable)));
        assert.equal(url.hostname, 'sandbox', `${name}: ${variable} defaults to the sandbox service`);
        assert.equal(interpolate(env.get(variable)!, { [variable]: 'https://api.anaf.ro/prod' }), 'https://api.anaf.ro/prod');
      }
      assert.equal(resolved(env.get('DATA_DIR')), '/data');
    }
    const dataVolume = (s: Service) =>
      (s.volumes ?? [])
        .map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target]))
        .find(([, target]) => target === '/data')?.[0];
    const workerVolume = dataVolume(service('worker'));
    assert.ok(workerVolume && compose.volumes && workerVolume in compose.volumes, 'worker mounts a named volume at /data');
    assert.equal(dataVolume(service('api')), workerVolume, 'worker and api share the blob store');
  });

  test('the sandbox publishes 9400 and 9443', () => {
    const ports = publishedPorts(service('sandbox'));
    for (const port of ['9400', '9443'])
      assert.ok(
        ports.some((p) => p.host === port && p.container === port),
        port,
      );
  });

  test('two worker processes by default (WORKER_REPLICAS), none publishing a port', () => {
    const worker = service('worker');
    assert.equal(Number(resolved(worker.deploy?.replicas)), 2);
    assert.equal(Number(interpolate(String(worker.deploy?.replicas), { WORKER_REPLICAS: '4' })), 4);
    assert.deepEqual(publishedPorts(worker), [], 'replicas cannot share a host port');
  });

  test('metrics: a required METRICS_TOKEN for workers and API; the workers listen on the compose network, not published', () => {
    for (const name of ['worker', 'api'])
      assert.equal(resolved(envOf(service(name)).get('METRICS_TOKEN')), '<required:METRICS_TOKEN>', name);
    assert.equal(resolved(envOf(service('worker')).get('WORKER_METRICS_HOST')), '0.0.0.0');
    assert.equal(resolved(compose.configs?.['prometheus-metrics-token']?.content), '<required:METRICS_TOKEN>');
  });

  test('ops profile: Prometheus scrapes every worker and the API with the alert rules loaded; Grafana provisions the dashboard; both on loopback', () => {
    const prometheus = service('prometheus');
    const grafana = service('grafana');
    for (const [name, s] of [
      ['prometheus', prometheus],
      ['grafana', grafana],
    ] as const) {
      assert.deepEqual(s.profiles, ['ops'], `${name} starts with --profile ops`);
      const ports = publishedPorts(s);
      assert.ok(ports.length > 0 && ports.every((p) => p.ip === '127.0.0.1'), `${name} on the host's loopback only`);
    }
    const mounts = (s: Service) =>
      new Map(
        (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':') : [v.source ?? '', v.target])).map(([src, dst]) => [dst!, src!]),
      );
    const prom = mounts(prometheus);
    const configFile = prom.get('/etc/prometheus/prometheus.yml');
    const rulesFile = prom.get('/etc/prometheus/anaf-flow-alerts.yml');
    assert.equal(configFile, './ops/prometheus/prometheus.yml');
    assert.equal(rulesFile, './ops/prometheus/anaf-flow-alerts.yml');
    const config = parse(fs.readFileSync(path.join(root, configFile!), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Array<{
        job_name: string;
        dns_sd_configs?: Array<{ names: string[]; port: number }>;
        static_configs?: Array<{ targets: string[] }>;
        authorization?: { credentials_file?: string };
      }>;
    };
    assert.deepEqual(config.rule_files, ['/etc/prometheus/anaf-flow-alerts.yml']);
    const job = (name: string) => config.scrape_configs.find((j) => j.job_name === name);
    // The job names the alert rules and the dashboard assume (ops/prometheus/anaf-flow-alerts.yml's header).
    const rules = fs.readFileSync(path.join(root, rulesFile!), 'utf8');
    for (const name of ['anaf-flow-worker', 'anaf-flow-api']) {
      assert.ok(job(name), `scrape job ${name}`);
      assert.match(rules, new RegExp(`job="${name}"`));
      const tokenFile = job(name)!.authorization?.credentials_file;
      assert.ok(
        tokenFile &&
          (prometheus.configs ?? []).some(
            (c) => typeof c === 'object' && c.source === 'prometheus-metrics-token' && c.target === tokenFile,
          ),
        `${name} sends the METRICS_TOKEN`,
      );
    }
    // Service discovery of the worker service: every replica, on the workers' metrics port.
    const workerPort = resolved(envOf(service('worker')).get('WORKER_METRICS_PORT') ?? '9464');
    assert.deepEqual(job('anaf-flow-worker')!.dns_sd_configs?.[0], { names: ['worker'], type: 'A', port: Number(workerPort) });
    assert.deepEqual(job('anaf-flow-api')!.static_configs?.[0]?.targets, [`api:${resolved(envOf(service('api')).get('API_PORT'))}`]);
    const graf = mounts(grafana);
    assert.equal(graf.get('/var/lib/grafana/dashboards/anaf-flow-dashboard.json'), './ops/grafana/anaf-flow-dashboard.json');
    const provisioning = graf.get('/etc/grafana/provisioning')!;
    const dashboards = parse(fs.readFileSync(path.join(root, provisioning, 'dashboards/anaf-flow.yml'), 'utf8')) as {
      providers: Array<{ options: { path: string } }>;
    };
    assert.equal(dashboards.providers[0]!.options.path, '/var/lib/grafana/dashboards');
    const sources = parse(fs.readFileSync(path.join(root, provisioning, 'datasources/prometheus.yml'), 'utf8')) as {
      datasources: Array<{ type: string; url: string; isDefault: boolean }>;
    };
    assert.deepEqual(
      sources.datasources.map((d) => [d.type, d.url, d.isDefault]),
      [['prometheus', 'http://prometheus:9090', true]],
    );
    assert.equal(resolved(envOf(grafana).get('GF_SECURITY_ADMIN_PASSWORD')), '<required:GRAFANA_ADMIN_PASSWORD>');
  });

  test('every bind-mounted file or folder is in the repository', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const source = typeof v === 'string' ? v.split(':')[0]! : (v.source ?? '');
        if (!source.startsWith('./')) continue;
        assert.ok(fs.existsSync(path.join(root, source)), `${name} mounts ${source}, which is not in the repository`);
      }
    }
  });

  test('every command and healthcheck runs a file that is in the repository', () => {
    for (const [name, s] of Object.entries(services)) {
      const words = [...commandWords(s.command), ...commandWords(s.entrypoint)];
      const check = s.healthcheck?.test;
      if (Array.isArray(check) && check[0] === 'CMD') words.push(...check.slice(1));
      assertFileReferencesExist(`service ${name}`, referencedSourceFiles(words));
    }
  });
});

/** The Dockerfile's instructions, continuation lines joined, comments dropped. */
function instructionsOf(text: string): string[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

describe('Dockerfile', () => {
  const instructions = instructionsOf(dockerfileText);
  const froms = instructions.filter((l) => /^FROM\s/i.test(l));

  test('every base image is pinned to an exact version; the Node base is bookworm-slim', () => {
    assert.ok(froms.length >= 2, 'multi-stage build expected');
    const stages = new Set<string>();
    let nodeBase: string | undefined;
    for (const from of froms) {
      const words = from.split(/\s+/).filter((w) => !w.startsWith('--'));
      const image = words[1]!;
      const alias = /^AS$/i.test(words[2] ?? '') ? words[3] : undefined;
      if (!stages.has(image)) {
        assert.doesNotMatch(image, /\$/, `FROM ${image}: base images are literal, not build args`);
        const problem = pinnedProblem(image);
        assert.equal(problem, undefined, `FROM ${image} ${problem}`);
        if (image.startsWith('node:')) nodeBase = image;
      }
      if (alias) stages.add(alias);
    }
    assert.ok(nodeBase, 'a node base image is expected');
    assert.match(nodeBase, /^node:20\.\d+\.\d+-bookworm-slim(@sha256:[0-9a-f]{64})?$/);
  });

  test('installs with npm ci, prebundles the workflows and runs as a non-root user', () => {
    assert.ok(
      instructions.some((l) => /^RUN\s.*\bnpm ci\b/.test(l)),
      'npm ci',
    );
    assert.ok(
      instructions.some((l) => /^RUN\s.*npx tsx workers\/build-bundle\.ts/.test(l)),
      'workflow bundle at build time',
    );
    const lastStage = instructions.slice(instructions.lastIndexOf(froms.at(-1)!));
    const user = lastStage.filter((l) => /^USER\s/i.test(l)).at(-1);
    const cmd = lastStage.filter((l) => /^CMD\s/i.test(l)).at(-1);
    assert.equal(cmd, 'CMD ["node", "--import", "tsx", "workers/main.ts"]', 'default role: worker, without npx');
    assert.ok(user, 'the runtime stage sets USER');
    assert.doesNotMatch(user, /^USER\s+(root|0)(:|$)/i);
  });

  test('RUN and CMD refer to files that are in the repository', () => {
    const words = instructions
      .filter((l) => /^(RUN|CMD|ENTRYPOINT)\s/i.test(l))
      .flatMap((l) => {
        const rest = l.replace(/^\w+\s+/, '');
        return rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
      });
    assertFileReferencesExist('Dockerfile', referencedSourceFiles(words));
  });

  test('.dockerignore keeps node_modules, local data and secrets out of the build context', () => {
    const ignored = new Set(
      fs
        .readFileSync(path.join(root, '.dockerignore'), 'utf8')
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
    for (const entry of ['node_modules', 'dist', 'data', '.git', '.env']) assert.ok(ignored.has(entry), entry);
  });
});
