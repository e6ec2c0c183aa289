import { describe, expect, it } from 'vitest';
import { channelUrlRefusal, isPrivateAddress } from './url-guard.js';

describe('isPrivateAddress', () => {
  it.each<[string, boolean]>([
    ['127.0.0.1', true],
    ['127.255.0.9', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['8.8.8.8', false],
    ['93.184.216.34', false],
    ['::1', true],
    ['::', true],
    ['fe80::1', true],
    ['fd12:3456::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:a9fe:a9fe', true],
    ['::ffff:808:808', false],
    ['2606:4700:4700::1111', false],
    ['not-an-address', false],
  ])('%s → %s', (ip, priv) => {
    expect(isPrivateAddress(ip)).toBe(priv);
  });
});

describe('channelUrlRefusal', () => {
  it.each<[string, boolean, RegExp | null]>([
    ['https://hooks.example.com/x', false, null],
    ['http://93.184.216.34/hook', false, null],
    ['http://127.0.0.1:9000/hook', false, /loopback, link-local or private address \(127\.0\.0\.1\)/],
    ['http://[::1]:9000/hook', false, /\(::1\)/],
    ['http://169.254.169.254/latest/meta-data', false, /\(169\.254\.169\.254\)/],
    ['http://10.0.0.8/', false, /\(10\.0\.0\.8\)/],
    // WHATWG URL parsing normalises other spellings of an address first
    ['http://2130706433/', false, /\(127\.0\.0\.1\)/],
    ['http://0x7f.1/', false, /\(127\.0\.0\.1\)/],
    ['http://[::ffff:127.0.0.1]/', false, /\(::ffff:7f00:1\)/],
    ['http://localhost:8080/', false, /loopback address \(localhost\)/],
    ['http://api.localhost/', false, /loopback address/],
    ['http://127.0.0.1:9000/hook', true, null],
    ['http://localhost:8080/', true, null],
  ])('%s (allow private: %s)', (url, allow, refusal) => {
    const r = channelUrlRefusal(url, allow);
    if (refusal === null) expect(r).toBeNull();
    else {
      expect(r).toMatch(refusal);
      expect(r).toContain('BATON_ALERTS_ALLOW_PRIVATE_URLS=true');
    }
  });
});
