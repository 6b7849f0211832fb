import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inboxWindowStart, previousInboxCursors } from '../../activities/efactura/inbox-window';

/**
 * Where the inbox sync resumes on each ANAF environment (the listing activity's choice). Results recorded
 * before the cursors were kept per environment carry a bare `cursor`, maybe with `anafEnvironment`.
 */

const DAY = 24 * 3600_000;
const NOW = Date.UTC(2026, 5, 1, 12);

describe('inbox cursors per environment', () => {
  test('a bare cursor without an environment belonged to the global default; with one, to it', () => {
    assert.deepEqual(previousInboxCursors({ cursor: 5 }, 'test', 'prod', false), { test: 5 });
    assert.deepEqual(previousInboxCursors({ cursor: 5 }, 'prod', 'prod', false), { prod: 5 });
    assert.deepEqual(previousInboxCursors({ cursor: 5, anafEnvironment: 'test' }, 'prod', 'prod', false), { test: 5 });
  });

  test('cursors per environment are kept as they are; no previous run: none', () => {
    assert.deepEqual(previousInboxCursors({ cursor: 7, anafEnvironment: 'prod', cursors: { test: 5, prod: 7 } }, 'test', 'test', false), {
      test: 5,
      prod: 7,
    });
    assert.deepEqual(previousInboxCursors(undefined, 'test', 'prod', false), {});
    assert.deepEqual(previousInboxCursors({}, 'test', 'prod', false), {});
  });

  test('behind a proxy (one environment) the latest cursor is the listed one, whatever its label', () => {
    assert.deepEqual(previousInboxCursors({ cursor: 5, anafEnvironment: 'test' }, 'test', 'prod', true), { prod: 5 });
    assert.deepEqual(previousInboxCursors({ cursor: 7, cursors: { test: 5, prod: 7 } }, 'test', 'test', true), { test: 7 });
    assert.deepEqual(previousInboxCursors(undefined, 'test', 'test', true), {});
  });

  test('the window starts at the cursor, else the lookback; never before ANAF 60 days, never at or after endTime', () => {
    const endTime = NOW - 1_000;
    assert.equal(inboxWindowStart(NOW - DAY, 7 * DAY, endTime, NOW), NOW - DAY);
    assert.equal(inboxWindowStart(undefined, 7 * DAY, endTime, NOW), endTime - 7 * DAY);
    assert.equal(inboxWindowStart(NOW - 90 * DAY, 7 * DAY, endTime, NOW), NOW - 60 * DAY + 60_000);
    // The activity ran late: ANAF's 60 days count from the call, not from when the sync computed endTime.
    assert.equal(inboxWindowStart(undefined, 59 * DAY, endTime, NOW + 2 * DAY), NOW + 2 * DAY - 60 * DAY + 60_000);
    assert.equal(inboxWindowStart(NOW, 7 * DAY, endTime, NOW), endTime - 1_000);
  });
});
