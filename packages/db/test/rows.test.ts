import { describe, expect, it } from 'vitest';
import { resultRows } from '../src/index.js';

describe('resultRows', () => {
  it("reads postgres.js's array and PGlite's { rows } alike, and nothing as no rows", () => {
    expect(resultRows([{ n: 1 }])).toEqual([{ n: 1 }]);
    expect(resultRows({ rows: [{ n: 2 }], fields: [] })).toEqual([{ n: 2 }]);
    expect(resultRows({ command: 'UPDATE' })).toEqual([]);
    expect(resultRows(null)).toEqual([]);
  });
});
