import { describe, expect, it } from 'vitest';
import { createLogger, maskSecrets, rememberSecretValues } from './logger.js';

describe('maskSecrets', () => {
  it.each([
    [{ token: 'abc' }, { token: '***' }],
    [{ Authorization: 'Bearer x' }, { Authorization: '***' }],
    [{ nested: { apiKey: 'k', name: 'n' } }, { nested: { apiKey: '***', name: 'n' } }],
    ['auth bat_key_ABCDEFGHijklmnop', 'auth bat_key_ABCDEFGH…'],
    [{ msg: 'agent bat_agt_12345678zzzzzz connected' }, { msg: 'agent bat_agt_12345678… connected' }],
    ['session bat_ses_ABCDEFGHijklmnop', 'session bat_ses_ABCDEFGH…'],
    [{ password: '' }, { password: '' }],
    [42, 42],
  ])('masks %j', (input, expected) => {
    expect(maskSecrets(input)).toEqual(expected);
  });

  it('filters by level and masks in lines', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
    log.debug('hidden');
    log.info('issued bat_key_ABCDEFGHsecretpart', { token: 'x' });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'issued bat_key_ABCDEFGH…', token: '***' });
  });

  it('never prints a value it knows is a secret, in the message or any field', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'text', write: (l) => lines.push(l) });
    const value = `known-${Math.random().toString(36).slice(2)}`;
    log.info(`before ${value}`);
    rememberSecretValues([value, '']);
    log.info(`rendered ${value}`, { error: new Error(`failed with ${value}`), list: [value], nested: { at: value } });
    expect(lines[0]).toContain(value);
    expect(lines[1]).not.toContain(value);
    expect(lines[1]).toContain('rendered ***');
    expect(lines[1]).toContain('failed with ***');
  });
});
