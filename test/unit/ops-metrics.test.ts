import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { enableProcessMetrics, registry } from '../../lib/observability/metrics';

/**
 * ops/: the Grafana dashboard and the Prometheus alert rules name only series the product exports
 * (lib/observability/metrics.ts, with the Node process metrics the worker and the API turn on), so a renamed
 * metric cannot leave a panel empty or an alert silent.
 */

const OPS = path.resolve(__dirname, '..', '..', 'ops');
const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
  'le',
]);

/** The metric names a PromQL expression selects: identifiers that are neither functions, keywords, labels nor durations. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of bare.matchAll(/(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?/g)) {
    if (m[2] || PROMQL_WORDS.has(m[1]!.toLowerCase())) continue;
    names.add(m[1]!);
  }
  return [...names];
}

async function exported(): Promise<Set<string>> {
  enableProcessMetrics();
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

interface Rule {
  alert?: string;
  expr: string;
}

function alertExpressions(): Array<{ where: string; expr: string }> {
  const doc = YAML.parse(fs.readFileSync(path.join(OPS, 'prometheus', 'anaf-flow-alerts.yml'), 'utf8')) as {
    groups: Array<{ name: string; rules: Rule[] }>;
  };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));
}

function dashboardExpressions(): Array<{ where: string; expr: string }> {
  const doc = JSON.parse(fs.readFileSync(path.join(OPS, 'grafana', 'anaf-flow-dashboard.json'), 'utf8')) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  return doc.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));
}

describe('ops/ dashboards and alerts', () => {
  test('the expression parser finds metric names and nothing else', () => {
    assert.deepEqual(
      metricNames('histogram_quantile(0.95, sum by (le, host) (rate(anaf_call_duration_seconds_bucket{status=~"5.."}[10m]))) > 30'),
      ['anaf_call_duration_seconds_bucket'],
    );
    assert.deepEqual(metricNames('sum(a_total) / max(b{queue=~".*-x"}) > 0.95 and on (host) c unless d offset 5m'), [
      'a_total',
      'b',
      'c',
      'd',
    ]);
  });

  test('every metric the alert rules and the dashboard name is exported', async () => {
    const names = await exported();
    const expressions = [...alertExpressions(), ...dashboardExpressions()];
    assert.ok(expressions.length >= 20, `${expressions.length} expressions`);
    const used = new Set<string>();
    for (const { where, expr } of expressions) {
      const found = metricNames(expr);
      assert.ok(found.length, `${where} names no metric: ${expr}`);
      for (const name of found) {
        assert.ok(names.has(name), `${where} uses ${name}, which lib/observability/metrics.ts does not export`);
        used.add(name);
      }
    }
    // What the operations conventions cover (issue 17 item 6).
    for (const name of [
      'anaf_calls_total',
      'anaf_rate_limited_total',
      'anaf_calls_last_minute',
      'anaf_budget_calls_per_minute',
      'anaf_lifecycles_finished_total',
      'anaf_lifecycles_needing_attention',
      'anaf_token_refreshes_total',
      'anaf_f5_rebootstraps_total',
      'anaf_worker_stall_suspicions_total',
    ]) {
      assert.ok(used.has(name), `ops/ does not use ${name}`);
    }
  });

  test('every alert has a severity and a summary; every panel has a datasource and a unique id', () => {
    const doc = YAML.parse(fs.readFileSync(path.join(OPS, 'prometheus', 'anaf-flow-alerts.yml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; labels?: { severity?: string }; annotations?: { summary?: string } }> }>;
    };
    const alerts = doc.groups.flatMap((g) => g.rules);
    assert.equal(new Set(alerts.map((a) => a.alert)).size, alerts.length, 'alert names are unique');
    for (const a of alerts) {
      assert.match(a.labels?.severity ?? '', /^(critical|warning|info)$/, a.alert);
      assert.ok(a.annotations?.summary, a.alert);
    }
    const dashboard = JSON.parse(fs.readFileSync(path.join(OPS, 'grafana', 'anaf-flow-dashboard.json'), 'utf8')) as {
      uid: string;
      panels: Array<{ id: number; datasource: { type: string } }>;
    };
    assert.equal(dashboard.uid, 'anaf-flow');
    assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length);
    for (const p of dashboard.panels) assert.equal(p.datasource.type, 'prometheus');
  });
});
