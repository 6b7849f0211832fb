import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { TEMPORAL_SERVER_VERSION } from '../../scripts/cluster/binaries';
import { clusterDynamicConfig } from '../../scripts/cluster/server-config';

/**
 * docker-compose.yml runs the Temporal server `npm run cluster` builds and tests (issue 17): the
 * same version, in the server image and the admin-tools images that set up its schemas and
 * namespace, and the same dynamic config (the new matcher; one partition for the ANAF queues).
 */

const compose = parse(fs.readFileSync(path.resolve(__dirname, '../../docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, { image?: string; profiles?: string[] }>;
  configs?: Record<string, { content?: string }>;
};

/** `${NAME:-default}` with every variable unset, as `docker compose up` resolves it from the defaults alone. */
function withDefaults(text: string): string {
  return text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}/g, '$1').replace(/\$\$/g, '$');
}

describe('docker-compose.yml runs the cluster’s Temporal version', () => {
  test('the server image is temporalio/server at TEMPORAL_SERVER_VERSION (scripts/cluster/binaries.ts)', () => {
    const image = compose.services.temporal?.image;
    assert.equal(image, `temporalio/server:${TEMPORAL_SERVER_VERSION}`);
  });

  test('every Temporal admin-tools image (schema, namespace, CLI) is the same version', () => {
    const tools = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('temporalio/admin-tools:'));
    assert.ok(tools.length >= 2, 'the schema and namespace services run admin-tools');
    for (const [name, s] of tools) assert.equal(s.image, `temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}`, name);
    assert.ok(!Object.values(compose.services).some((s) => s.image?.startsWith('temporalio/auto-setup')), 'no auto-setup image');
  });

  test('its dynamic config is the cluster’s for the default task queue', () => {
    const content = compose.configs?.['temporal-dynamic-config']?.content;
    assert.ok(content, 'configs.temporal-dynamic-config.content');
    assert.deepEqual(parse(withDefaults(content)), clusterDynamicConfig(['anaf-flow']));
  });
});
