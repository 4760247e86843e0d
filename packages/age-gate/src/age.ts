/**
 * Age on calendar dates, in a time zone. Plain functions: no Fastify, no I/O.
 *
 * A person born on 29 February has their birthday on 1 March in common years (or 28 February, by
 * option). "Today" is the calendar date in the configured zone, so a birthday starts at local
 * midnight there, not at UTC midnight.
 */
import { InvalidDate } from './errors.js';

export type LeapDayBirthday = 'march-1' | 'february-28';

export interface AgeOptions {
  /** The instant to judge at. Default: now. */
  now?: Date;
  /** IANA time zone whose calendar date is "today". Default UTC. */
  timeZone?: string;
  /** Default 18. */
  minimumAge?: number;
  /** Birthday of 29 February births in common years. Default 1 March. */
  leapDayBirthday?: LeapDayBirthday;
}

export interface AgeResult {
  eligible: boolean;
  /** Whole years. Callers must not store or log it with the date: it is personal data. */
  age: number;
  minimumAge: number;
}

export const MAX_AGE = 120;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
const daysIn = (y: number, m: number) => [31, isLeap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The calendar date of an instant in a time zone. */
export function calendarDate(instant: Date, timeZone: string): { year: number; month: number; day: number } {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) };
}

/** Parses a strict YYYY-MM-DD date that exists in the calendar, or throws HF_AGE_GATE_INVALID_DATE. */
export function parseBirthDate(text: unknown): { year: number; month: number; day: number } {
  const match = typeof text === 'string' ? DATE.exec(text) : null;
  if (!match) throw new InvalidDate();
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) throw new InvalidDate();
  return { year, month, day };
}

export function evaluateAge(dateOfBirth: unknown, options: AgeOptions = {}): AgeResult {
  const { now = new Date(), timeZone = 'UTC', minimumAge = 18, leapDayBirthday = 'march-1' } = options;
  const birth = parseBirthDate(dateOfBirth);
  const today = calendarDate(now, timeZone);

  // Born in the future (in the zone's calendar): not a date of birth.
  if (
    birth.year > today.year ||
    (birth.year === today.year && (birth.month > today.month || (birth.month === today.month && birth.day > today.day)))
  ) {
    throw new InvalidDate();
  }

  let birthdayMonth = birth.month;
  let birthdayDay = birth.day;
  if (birth.month === 2 && birth.day === 29 && !isLeap(today.year)) {
    [birthdayMonth, birthdayDay] = leapDayBirthday === 'march-1' ? [3, 1] : [2, 28];
  }
  const hadBirthday = today.month > birthdayMonth || (today.month === birthdayMonth && today.day >= birthdayDay);
  const age = today.year - birth.year - (hadBirthday ? 0 : 1);
  if (age > MAX_AGE) throw new InvalidDate();
  return { eligible: age >= minimumAge, age, minimumAge };
}
