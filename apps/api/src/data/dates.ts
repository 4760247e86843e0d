/** A moment as messages and pages show it to the minute, in UTC: `2026-12-07 18:02 UTC`. */
export function utcMinute(at: Date | string): string {
  const iso = typeof at === 'string' ? at : at.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}
