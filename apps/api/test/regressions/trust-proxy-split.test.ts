// Issue 12 item 10: TRUST_PROXY refused `/0` but took `0.0.0.0/1,128.0.0.0/1,::/1,8000::/1` (a /0
// split in two), after which any client could choose its IP through X-Forwarded-For.
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';

const refused = (value: string) => {
  try {
    parseConfig({ TRUST_PROXY: value });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  return null;
};

describe('TRUST_PROXY refuses sets of entries that together trust too much', () => {
  it('refuses a /0 split into halves or quarters, naming the entries', () => {
    for (const value of [
      '0.0.0.0/1,128.0.0.0/1,::/1,8000::/1',
      '0.0.0.0/1,128.0.0.0/1',
      '::/1,8000::/1',
      '0.0.0.0/2,64.0.0.0/2,128.0.0.0/2,192.0.0.0/2',
      '10.0.0.0/7',
      '11.0.0.0/8,12.0.0.0/8',
    ]) {
      const message = refused(value);
      expect(message, value).toMatch(/TRUST_PROXY trusts too many addresses/);
      expect(message, value).toContain(value.split(',')[0]);
    }
  });

  it('counts IPv4-mapped IPv6 as IPv4, and an IPv6 range covering ::ffff:0:0/96 too', () => {
    expect(refused('::ffff:0.0.0.0/97')).toMatch(/IPv4 addresses/);
    expect(refused('::ffff:0:0/96')).toMatch(/IPv4 addresses/);
    expect(refused('::ffff:10.0.0.0/104,11.0.0.0/8')).toMatch(/IPv4 addresses/);
    expect(refused('::/80')).toMatch(/IPv4 addresses/); // holds ::ffff:0:0/96
  });

  it('counts overlapping entries once and keeps what real deployments use', () => {
    expect(parseConfig({ TRUST_PROXY: '10.0.0.0/8,10.1.0.0/16,10.0.0.1' }).trustProxy).toEqual([
      '10.0.0.0/8',
      '10.1.0.0/16',
      '10.0.0.1',
    ]);
    expect(parseConfig({ TRUST_PROXY: '2001:db8::/33,2001:db8:8000::/33' }).trustProxy).toHaveLength(2);
    expect(parseConfig({ TRUST_PROXY: 'loopback,linklocal,uniquelocal' }).trustProxy).toEqual([
      'loopback',
      'linklocal',
      'uniquelocal',
    ]);
    expect(parseConfig({ TRUST_PROXY: '2600::/32' }).trustProxy).toEqual(['2600::/32']);
    expect(refused('2600::/31')).toMatch(/IPv6/);
  });
});
