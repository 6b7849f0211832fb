import assert from 'node:assert/strict';
import { test } from 'node:test';
import { msUntilNextRomanianDay, parseAnafMinute, romanianParts } from '../../lib/anaf/romanian-time';

/** What Node's time-zone data says the clock in Bucharest reads: the reference the rule in code must match. */
const bucharest = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Bucharest',
  hourCycle: 'h23',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

function fromIntl(epochMs: number): Record<string, string> {
  const parts: Record<string, string> = {};
  for (const p of bucharest.formatToParts(new Date(epochMs))) if (p.type !== 'literal') parts[p.type] = p.value;
  return parts;
}

const HOUR = 3600_000;

test('the clock in Romania matches the time-zone data, every hour from 1997 to 2037 and every minute around each change', () => {
  const mismatches: string[] = [];
  const check = (t: number) => {
    const ours = { ...romanianParts(t) };
    const theirs = fromIntl(t);
    if (
      JSON.stringify(ours) !==
      JSON.stringify({
        year: theirs.year,
        month: theirs.month,
        day: theirs.day,
        hour: theirs.hour,
        minute: theirs.minute,
        second: theirs.second,
      })
    ) {
      mismatches.push(`${new Date(t).toISOString()}: ${JSON.stringify(ours)} vs ${JSON.stringify(theirs)}`);
    }
  };
  for (let t = Date.UTC(1997, 0, 1); t < Date.UTC(2038, 0, 1); t += HOUR) check(t + 17_000);
  for (let year = 1997; year < 2038; year++) {
    for (const month of [2, 9]) {
      const lastDay = Date.UTC(year, month + 1, 0);
      const change = lastDay - new Date(lastDay).getUTCDay() * 24 * HOUR + HOUR;
      for (let t = change - 2 * HOUR; t <= change + 2 * HOUR; t += 60_000) check(t);
      check(change - 1);
    }
  }
  assert.deepEqual(mismatches.slice(0, 5), []);
});

test('midnight in Romania: the time until the next day, in winter and in summer', () => {
  // 2026-01-15 21:30 UTC is 23:30 in Bucharest (UTC+2): half an hour to midnight.
  assert.equal(msUntilNextRomanianDay(Date.UTC(2026, 0, 15, 21, 30)), 30 * 60_000);
  // 2026-07-15 20:45 UTC is 23:45 in Bucharest (UTC+3).
  assert.equal(msUntilNextRomanianDay(Date.UTC(2026, 6, 15, 20, 45)), 15 * 60_000);
  // The days of the changes: 2026-03-29 has 23 hours, 2026-10-25 has 25 (a quota resets at the real midnight).
  assert.equal(msUntilNextRomanianDay(Date.UTC(2026, 2, 28, 22, 0)), 23 * HOUR);
  assert.equal(msUntilNextRomanianDay(Date.UTC(2026, 9, 24, 21, 0)), 25 * HOUR);
  assert.equal(msUntilNextRomanianDay(Date.UTC(2026, 9, 24, 21, 30)), 24.5 * HOUR);
});

test('the next Romanian midnight is where the calendar day changes, every hour from 2020 to 2030', () => {
  for (let t = Date.UTC(2020, 0, 1, 0, 7); t < Date.UTC(2031, 0, 1); t += HOUR) {
    const next = t + msUntilNextRomanianDay(t);
    const before = fromIntl(next - 1);
    const at = fromIntl(next);
    assert.equal(`${at.hour}:${at.minute}:${at.second}`, '00:00:00', new Date(t).toISOString());
    assert.notEqual(before.day, at.day, new Date(t).toISOString());
    assert.ok(next - t <= 25 * HOUR && next > t, new Date(t).toISOString());
  }
});

test("ANAF's local minutes read back as instants, across both changes", () => {
  assert.equal(parseAnafMinute('202601151200'), Date.UTC(2026, 0, 15, 10, 0));
  assert.equal(parseAnafMinute('202607151200'), Date.UTC(2026, 6, 15, 9, 0));
  // 2026-03-29: 03:00 local jumps to 04:00 (01:00 UTC); 2026-10-25: 04:00 local falls back to 03:00.
  assert.equal(parseAnafMinute('202603290259'), Date.UTC(2026, 2, 29, 0, 59));
  assert.equal(parseAnafMinute('202603290400'), Date.UTC(2026, 2, 29, 1, 0));
  assert.equal(parseAnafMinute('202610250500'), Date.UTC(2026, 9, 25, 3, 0));
  assert.equal(parseAnafMinute('2026'), undefined);
});
