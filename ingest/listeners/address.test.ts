import { describe, expect, it } from 'vitest';
import { HandlogError } from '../../core/errors.js';
import { formatListenAddress, normalizeIp, parseListenAddress } from './address.js';

describe('parseListenAddress', () => {
  it('parses IPv4, bracketed IPv6, host names and a bare port', () => {
    expect(parseListenAddress('0.0.0.0:5514')).toEqual({ host: '0.0.0.0', port: 5514, family: 4 });
    expect(parseListenAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0, family: 4 });
    expect(parseListenAddress('[::1]:5514')).toEqual({ host: '::1', port: 5514, family: 6 });
    expect(parseListenAddress('[::]:6514')).toEqual({ host: '::', port: 6514, family: 6 });
    expect(parseListenAddress(' localhost:514 ')).toEqual({ host: 'localhost', port: 514, family: 0 });
    expect(parseListenAddress(':5514')).toEqual({ host: '0.0.0.0', port: 5514, family: 4 });
  });

  it.each([
    ['', /empty/],
    ['5514', /port is missing/],
    ['127.0.0.1', /port is missing/],
    ['127.0.0.1:', /port is missing/],
    ['127.0.0.1:65536', /0 to 65535/],
    ['127.0.0.1:-1', /0 to 65535/],
    ['127.0.0.1:http', /0 to 65535/],
    ['::1:5514', /brackets/],
    ['[::1:5514', /missing "\]"/],
    ['[::1]5514', /":PORT" after "\]"/],
    ['[1.2.3.4]:5514', /not a valid IPv6/],
    ['300.1.1.1:5514', /not a valid IPv4/],
    ['bad_host!:5514', /not an IP address or host name/],
  ])('rejects %j with a clear message', (input, message) => {
    let err: unknown;
    try {
      parseListenAddress(input);
    } catch (e: unknown) {
      err = e;
    }
    expect(err).toBeInstanceOf(HandlogError);
    expect((err as HandlogError).code).toBe('CONFIG_INVALID');
    expect((err as HandlogError).message).toMatch(message);
    expect((err as HandlogError).message).toContain('e.g. 0.0.0.0:5514');
  });

  it('formats addresses back, bracketing IPv6', () => {
    expect(formatListenAddress({ host: '::', port: 1 })).toBe('[::]:1');
    expect(formatListenAddress({ host: '10.0.0.1', port: 2 })).toBe('10.0.0.1:2');
  });

  it('strips the IPv4-mapped prefix of peer addresses only', () => {
    expect(normalizeIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeIp('::FFFF:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeIp('::ffff:abcd')).toBe('::ffff:abcd');
    expect(normalizeIp('::1')).toBe('::1');
    expect(normalizeIp('192.0.2.1')).toBe('192.0.2.1');
  });
});
