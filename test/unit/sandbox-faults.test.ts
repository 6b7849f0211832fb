import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { FaultInjector, FaultRuleError, parseFaultRules } from '../../sandbox/faults';
import { SeededRandom } from '../../sandbox/random';
import { SandboxState } from '../../sandbox/state';

function injector(seed = 1) {
  const state = new SandboxState();
  return { faults: new FaultInjector({ random: new SeededRandom(seed), state, logger: pino({ level: 'silent' }) }), state };
}

describe('fault rule matching and planning', () => {
  test('a plain route is a path prefix; one starting with ^ is a regex over path and query', () => {
    const { faults } = injector();
    faults.set([
      { route: '/test/FCTEL', status: 500 },
      { route: '^/prod/.*[?&]cif=123(&|$)', status: 503 },
    ]);
    assert.equal(faults.plan('GET', '/test/FCTEL/rest/upload?standard=UBL')?.answer?.status, 500);
    assert.equal(faults.plan('GET', '/prod/FCTEL/rest/listaMesaje?zile=1&cif=123')?.answer?.status, 503);
    assert.equal(faults.plan('GET', '/prod/FCTEL/rest/listaMesaje?zile=1&cif=1234'), undefined);
    assert.equal(faults.plan('GET', '/other'), undefined);
  });

  test('method filters are case-insensitive', () => {
    const { faults } = injector();
    faults.set([{ route: '/x', method: 'post', status: 500 }]);
    assert.equal(faults.plan('POST', '/x')?.answer?.status, 500);
    assert.equal(faults.plan('GET', '/x'), undefined);
  });

  test('errorRate draws repeat exactly for a seed and spread near the rate', () => {
    const draws = (seed: number) => {
      const { faults } = injector(seed);
      faults.set([{ route: '/', errorRate: 0.3 }]);
      return Array.from({ length: 1000 }, () => (faults.plan('GET', '/a')?.answer?.status === 500 ? 1 : 0));
    };
    const a = draws(9);
    assert.deepEqual(a, draws(9));
    assert.notDeepEqual(a, draws(10));
    const hits = a.reduce<number>((s, x) => s + x, 0);
    assert.ok(hits > 240 && hits < 360, `${hits} of 1000 at 30 %`);
  });

  test('burst429 counts as times and the rule disappears after N', () => {
    const { faults } = injector();
    faults.set([{ route: '/', burst429: 2 }]);
    assert.equal(faults.plan('GET', '/')?.answer?.status, 429);
    assert.equal(faults.list()[0]?.remaining, 1);
    assert.equal(faults.plan('GET', '/')?.answer?.status, 429);
    assert.equal(faults.plan('GET', '/'), undefined);
  });

  test('validation: unknown fields, out-of-range values and contradictions are refused', () => {
    assert.throws(() => parseFaultRules([{ route: '/', status: 500, colour: 'red' }]), FaultRuleError);
    assert.throws(() => parseFaultRules([{ route: '/', errorRate: 1.5 }]), FaultRuleError);
    assert.throws(() => parseFaultRules([{ route: '/', status: 99 }]), FaultRuleError);
    assert.throws(() => parseFaultRules([{ route: '/', burst429: 1, times: 3 }]), /burst429/);
    assert.throws(() => parseFaultRules({ route: '/' }), FaultRuleError);
    assert.equal(parseFaultRules([{ route: '/', html: 'waf', times: 1 }]).length, 1);
  });
});
