export { evaluateAge, parseBirthDate, calendarDate, MAX_AGE } from './age.js';
export type { AgeOptions, AgeResult, LeapDayBirthday } from './age.js';
