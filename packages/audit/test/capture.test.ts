import fc from 'fast-check';
import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { captureIp, cleanDetails, cleanText, deviceParser, MAX_USER_AGENT, parseDevice } from '../src/capture.js';

const key = createSecretKey(Buffer.from('k'.repeat(32)));

describe('captureIp', () => {
  it('stores IPv4, IPv6 and IPv4-mapped addresses in full by default', () => {
    expect(captureIp('203.0.113.7', 'full')).toEqual({ ip: '203.0.113.7', invalid: false });
    expect(captureIp('2001:DB8::7', 'full')).toEqual({ ip: '2001:db8::7', invalid: false });
    expect(captureIp('::ffff:203.0.113.7', 'full')).toEqual({ ip: '203.0.113.7', invalid: false });
  });

  it('truncates to /24 and /64, an IPv4-mapped address as IPv4', () => {
    expect(captureIp('203.0.113.7', 'truncated').ip).toBe('203.0.113.0');
    expect(captureIp('2001:db8:aa:bb:cc:dd:ee:ff', 'truncated').ip).toBe('2001:db8:aa:bb::');
    expect(captureIp('::ffff:203.0.113.7', 'truncated').ip).toBe('203.0.113.0');
  });

  it('keyed-hash gives one stable value per client that does not contain the address', () => {
    const a = captureIp('203.0.113.7', 'keyed-hash', key).ip!;
    expect(a).toMatch(/^hmac:[\w-]{32}$/);
    expect(a).not.toContain('203');
    expect(captureIp('::ffff:203.0.113.7', 'keyed-hash', key).ip).toBe(a);
    expect(captureIp('203.0.113.8', 'keyed-hash', key).ip).not.toBe(a);
    expect(captureIp('203.0.113.7', 'keyed-hash', createSecretKey(Buffer.from('j'.repeat(32)))).ip).not.toBe(a);
  });

  it('stores anything that is not an address as null, flagged', () => {
    for (const bad of ['unknown', '203.0.113.7, 10.0.0.1', '203.0.113.7\r\nx', '999.1.1.1']) {
      expect(captureIp(bad, 'full')).toEqual({ ip: null, invalid: true });
    }
    expect(captureIp(undefined, 'full')).toEqual({ ip: null, invalid: false });
  });
});

describe('parseDevice', () => {
  it('names browser, OS and device type', () => {
    expect(
      parseDevice(
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
      ),
    ).toMatchObject({
      browserName: 'Chrome',
      browserVersion: '120.0.0.0',
      osName: 'Windows',
      deviceType: 'desktop',
    });
    expect(
      parseDevice(
        'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
      ),
    ).toMatchObject({
      browserName: 'Safari',
      osName: 'iOS',
      osVersion: '17.0',
      deviceType: 'mobile',
    });
    expect(
      parseDevice(
        'Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.0 Mobile/15E148 Safari/604.1',
      ).deviceType,
    ).toBe('tablet');
    expect(parseDevice('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)').deviceType).toBe(
      'bot',
    );
    expect(parseDevice('curl/8.4.0').deviceType).toBe('unknown');
    expect(parseDevice(null)).toMatchObject({ browserName: null, deviceType: 'unknown' });
    expect(parseDevice('')).toMatchObject({ deviceType: 'unknown' });
  });

  it('caches results in a bounded LRU', () => {
    const parse = deviceParser(2);
    const ua = 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0';
    expect(parse(ua)).toBe(parse(ua));
    const first = parse(ua);
    parse('agent-b/1');
    parse('agent-c/1'); // evicts ua
    expect(parse(ua)).not.toBe(first);
    expect(parse(ua)).toEqual(first);
  });

  // Shapes of the ua-parser-js advisories (CVE-2021-27292: backtracking in the browser and device
  // expressions; CVE-2022-25927: the whitespace trim) and uap-core's ReDoS corpus, at 50 000
  // characters. The header is cut to 512 before any expression sees it, and bowser's expressions
  // are linear on what is left.
  const hostile = [
    'Mozilla/5.0 (' + ' '.repeat(50_000) + 'x',
    'a' + ' '.repeat(50_000) + 'a',
    '\uFEFF'.repeat(25_000) + 'x' + '\u00A0'.repeat(25_000) + 'y',
    'SmartWatch' + ' '.repeat(50_000) + 'z',
    ';A Build HuaweiA' + '4'.repeat(50_000) + 'z',
    'HbbTV/0.0.0 (;LGE;' + ' '.repeat(50_000) + 'z',
    'AppleWebKit/1.' + '0'.repeat(50_000) + '!',
    'Mozilla' + 'Mobile'.repeat(10_000) + '!',
    'Opera/' + 'Opera Mobi'.repeat(5_000) + '!',
    'Mozilla/5.0 (Linux; Android 4.4; ' + 'Build/'.repeat(8_000) + ')',
    'Mozilla/5.0 (iPhone; CPU iPhone OS ' + '1_'.repeat(25_000) + ' like Mac OS X)',
  ];

  it('cuts hostile user agents to 512 characters and parses each in well under a frame', () => {
    for (const raw of hostile) {
      const cut = cleanText(raw, MAX_USER_AGENT)!;
      expect(cut.length).toBe(MAX_USER_AGENT);
      const started = process.hrtime.bigint();
      parseDevice(cut);
      // A generous ceiling: catastrophic backtracking takes seconds to minutes, not milliseconds.
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(100);
    }
  });
});

describe('cleanText and cleanDetails', () => {
  it('keeps CR, LF, ESC and U+2028 as data, replaces what Postgres cannot store, and cuts', () => {
    expect(cleanText('a\r\nb\u001b[31mc\u2028d')).toBe('a\r\nb\u001b[31mc\u2028d');
    expect(cleanText('a\u0000b')).toBe('a\uFFFDb');
    expect(cleanText('x\uD800y\uDC00')).toBe('x\uFFFDy\uFFFD');
    expect(cleanText('\uD83D\uDE00')).toBe('\uD83D\uDE00');
    expect(cleanText('abcdef', 3)).toBe('abc');
    expect(cleanText(42)).toBeNull();
  });

  it('gives what the full replacement gives for any string (the fast path skips it only when nothing is to replace)', () => {
    // Strings of any UTF-16 code units (lone surrogates, pairs, NUL) and plain text.
    const text = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('a', '\u0000', '\uD800', '\uDBFF', '\uDC00', '\uDFFF', '\uD83D', '\uDE00') }),
      fc.string(),
    );
    fc.assert(
      fc.property(text, (s) => {
        const expected = s.replace(
          // eslint-disable-next-line no-control-regex
          /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
          '\uFFFD',
        );
        expect(cleanText(s, 1_000_000)).toBe(expected);
        // Whatever is kept is well-formed UTF-16 without NUL (what Postgres stores).
        expect(cleanText(s, 1_000_000)!.includes('\u0000')).toBe(false);
        expect(Buffer.from(cleanText(s, 1_000_000)!, 'utf8').toString('utf8')).toBe(cleanText(s, 1_000_000));
      }),
      { numRuns: 2000 },
    );
  });

  it('cleans details at every level, keys included, and bounds them', () => {
    expect(cleanDetails({ 'k\u0000': ['v\u0000', 1, Infinity, { deep: 'x\u0000' }], u: undefined })).toEqual({
      'k\uFFFD': ['v\uFFFD', 1, null, { deep: 'x\uFFFD' }],
    });
    expect((cleanDetails({ list: Array.from({ length: 500 }, (_, i) => i) }) as { list: number[] }).list).toHaveLength(
      100,
    );
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20; i++) deep = { deep };
    expect(JSON.stringify(cleanDetails(deep))).not.toContain('bottom');
  });
});
