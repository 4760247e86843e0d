import { evaluateAge } from '@harakaflow/age-gate';
import { describe, expect, it } from 'vitest';

const at = (iso: string) => new Date(iso);

describe('evaluateAge: the boundary table', () => {
  it.each([
    // [date of birth, now, time zone, eligible, age]
    ['2008-06-15', '2026-06-14T12:00:00Z', 'UTC', false, 17], // the day before the 18th birthday
    ['2008-06-15', '2026-06-15T00:00:00Z', 'UTC', true, 18], // the birthday itself, at midnight
    ['2008-06-15', '2026-06-14T23:59:59Z', 'UTC', false, 17],
    // The birthday starts at local midnight: 14 June 22:30 UTC is already 15 June in Nairobi (UTC+3)...
    ['2008-06-15', '2026-06-14T22:30:00Z', 'Africa/Nairobi', true, 18],
    // ...but still 14 June in New York (UTC-4).
    ['2008-06-15', '2026-06-15T03:00:00Z', 'America/New_York', false, 17],
    ['2008-06-15', '2026-06-15T04:00:00Z', 'America/New_York', true, 18],
    ['2008-06-15', '2026-06-14T10:00:00Z', 'Pacific/Kiritimati', true, 18], // UTC+14
    // 29 February births: in a common year the birthday is 1 March.
    ['2008-02-29', '2026-02-28T12:00:00Z', 'UTC', false, 17],
    ['2008-02-29', '2026-03-01T00:00:00Z', 'UTC', true, 18],
    // In a leap year it is 29 February.
    ['2012-02-29', '2030-02-28T12:00:00Z', 'UTC', false, 17],
    ['2012-02-29', '2032-02-28T12:00:00Z', 'UTC', true, 19], // leap year: birthday not reached yet
    ['2012-02-29', '2030-03-01T00:00:00Z', 'UTC', true, 18],
    ['2014-02-28', '2032-02-28T00:00:00Z', 'UTC', true, 18],
  ])('born %s, at %s in %s: eligible %s (age %i)', (dob, now, timeZone, eligible, age) => {
    expect(evaluateAge(dob, { now: at(now), timeZone })).toEqual({ eligible, age, minimumAge: 18 });
  });

  it('can put the common-year birthday of 29 February births on 28 February', () => {
    expect(
      evaluateAge('2008-02-29', { now: at('2026-02-28T12:00:00Z'), leapDayBirthday: 'february-28' }).eligible,
    ).toBe(true);
    expect(
      evaluateAge('2008-02-29', { now: at('2026-02-27T12:00:00Z'), leapDayBirthday: 'february-28' }).eligible,
    ).toBe(false);
  });

  it('takes another minimum age', () => {
    expect(evaluateAge('2007-06-15', { now: at('2026-06-16T00:00:00Z'), minimumAge: 19 }).eligible).toBe(true);
    expect(evaluateAge('2008-06-15', { now: at('2026-06-16T00:00:00Z'), minimumAge: 19 })).toEqual({
      eligible: false,
      age: 18,
      minimumAge: 19,
    });
  });
});

describe('evaluateAge: invalid input is HF_AGE_GATE_INVALID_DATE', () => {
  it.each([
    ['2005-02-30'],
    ['2005-13-01'],
    ['2005-00-10'],
    ['2005-04-31'],
    ['2007-02-29'], // not a leap year
    ['1900-02-29'], // century, not a leap year
    ['2027-01-01'], // in the future
    ['2026-06-16'], // tomorrow, in UTC
    ['1890-01-01'], // over 120
    ['05-02-2005'],
    ['2005-2-3'],
    ['2005/02/03'],
    ['2005-02-03T00:00:00Z'],
    [' 2005-02-03'],
    ['２００５-02-03'],
    [''],
    [20050203],
    [null],
    [undefined],
  ])('%j', (input) => {
    expect(() => evaluateAge(input, { now: at('2026-06-15T12:00:00Z') })).toThrow(
      expect.objectContaining({ code: 'HF_AGE_GATE_INVALID_DATE', statusCode: 400 }),
    );
  });

  it('accepts 2000-02-29 (a century leap year) and exactly 120 years', () => {
    expect(evaluateAge('2000-02-29', { now: at('2026-06-15T12:00:00Z') }).age).toBe(26);
    expect(evaluateAge('1906-06-15', { now: at('2026-06-15T12:00:00Z') }).age).toBe(120);
  });
});
