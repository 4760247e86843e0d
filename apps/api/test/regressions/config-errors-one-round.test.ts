// Issue 13 item 6: production config errors came in two rounds (the missing secrets named, then
// the bad values once those were set). Every problem is now reported in one message.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, SECRET_SPECS } from '../../src/index.js';

describe('configuration problems, all at once', () => {
  it('names every missing production secret together with every bad value and the TLS files', () => {
    let error: unknown;
    try {
      loadConfig({
        NODE_ENV: 'production',
        PORT: 'abc',
        QUOTA_BAN_AFTER: '0',
        TLS_CERT_FILE: '/nonexistent/cert.pem',
        TLS_KEY_FILE: '/nonexistent/key.pem',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'hf-cfg-')),
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.some((p) => p.startsWith('PORT'))).toBe(true);
    expect(problems.some((p) => p.startsWith('QUOTA_BAN_AFTER'))).toBe(true);
    expect(problems.some((p) => p.startsWith('TLS_CERT_FILE cannot be read'))).toBe(true);
    // A secret optional in production for a release (AUDIT_SIGNING_KEYS, issue 33) is warned about, not refused.
    for (const spec of SECRET_SPECS.filter((s) => !s.optionalInProduction))
      expect(problems).toContain(`${spec.env} is required when NODE_ENV=production`);
    expect(problems.filter((p) => p.startsWith('AUDIT_SIGNING_KEYS'))).toEqual([]);
  });

  it('a secret given but invalid is named as invalid, not as missing', () => {
    let problems: string[] = [];
    try {
      loadConfig({ NODE_ENV: 'production', ADMIN_API_KEY: 'short' });
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    expect(problems.some((p) => p.startsWith('ADMIN_API_KEY') && !p.includes('is required'))).toBe(true);
    expect(problems).not.toContain('ADMIN_API_KEY is required when NODE_ENV=production');
    expect(problems.join()).not.toContain('short');
  });
});
