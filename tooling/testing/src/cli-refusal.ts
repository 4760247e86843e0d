import { expect } from 'vitest';

/**
 * A CLI refused a PGlite data directory this test process holds open: its exit code, the code
 * HF_DB_DATA_DIR_IN_USE, the directory and this process named on stderr.
 */
export function expectDataDirRefused(
  result: { code: number | null; err: string },
  dir: string,
  exitCode: number,
  label?: string,
): void {
  expect(result.code, label ?? result.err).toBe(exitCode);
  expect(result.err).toContain('HF_DB_DATA_DIR_IN_USE');
  expect(result.err).toContain(dir);
  expect(result.err).toContain(`process ${process.pid}`);
}
