import { describe, expect, it } from 'vitest';
import { errorCodes, serializeError } from '../src/index.js';

describe('serializeError: the one error serializer for logs', () => {
  it('keeps name, codes of the error and its causes, status and stack frames; never the message or other fields', () => {
    const driver = Object.assign(new Error('insert into app.accounts ... params: amina@example.com,Otieno Logistics'), {
      code: '23505',
      detail: 'Key (email)=(amina@example.com) exists',
      parameters: ['amina@example.com'],
    });
    const wrapped = Object.assign(
      new TypeError('Failed query: insert ... params: amina@example.com', { cause: driver }),
      { code: 'HF_X', statusCode: 500 },
    );
    const logged = serializeError(wrapped);
    expect(logged).toMatchObject({ type: 'TypeError', codes: ['HF_X', '23505'], statusCode: 500 });
    expect((logged as { stack: string[] }).stack.every((l) => l.startsWith('at '))).toBe(true);
    expect(JSON.stringify(logged)).not.toContain('amina');
    expect(JSON.stringify(logged)).not.toContain('Failed query');
  });

  it('passes a summary through (applied twice it changes nothing), and takes non-errors', () => {
    const once = serializeError(new Error('secret'));
    expect(serializeError(once)).toEqual(once);
    expect(serializeError(errorCodes(Object.assign(new Error('x'), { code: 'E1' })))).toEqual({ codes: ['E1'] });
    expect(serializeError('a string with amina@example.com')).toEqual({ type: 'string', codes: [] });
    expect(serializeError(null)).toEqual({ type: 'object', codes: [] });
  });
});
