import { describe, expect, it } from 'vitest';
import { HandlogError } from './errors.js';
import { envName, loadServeConfig, parseAddress } from './config.js';

describe('serve configuration', () => {
  it('has the contract defaults', () => {
    const c = loadServeConfig({}, {});
    expect(c).toMatchObject({
      dataDir: './data',
      clickhouseUrl: null,
      udp: { host: '0.0.0.0', port: 5514 },
      tcp: { host: '0.0.0.0', port: 5514 },
      tls: null, // on only with a certificate and key
      http: { host: '127.0.0.1', port: 8080 },
      tz: 'UTC',
      retentionDays: 30,
      maxFrameBytes: 65536,
      batchMaxRows: 10000,
      batchMaxAgeMs: 200,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('reads HANDLOG_* twins and CLICKHOUSE_URL; flags win', () => {
    const c = loadServeConfig(
      { udp: 'off' },
      { HANDLOG_UDP: '127.0.0.1:9', HANDLOG_TCP: '[::1]:6000', CLICKHOUSE_URL: 'http://h:8123/db', HANDLOG_RETENTION_DAYS: '7' },
    );
    expect(c.udp).toBeNull();
    expect(c.tcp).toEqual({ host: '::1', port: 6000 });
    expect(c.clickhouseUrl).toBe('http://h:8123/db');
    expect(c.retentionDays).toBe(7);
    expect(envName('tls-client-auth')).toBe('HANDLOG_TLS_CLIENT_AUTH');
  });
  it('turns TLS on with a certificate and key', () => {
    const c = loadServeConfig({ 'tls-cert': 'a.crt', 'tls-key': 'a.key' }, {});
    expect(c.tls).toEqual({ host: '0.0.0.0', port: 6514 });
  });
  it('lists every problem at once', () => {
    let err: unknown;
    try {
      loadServeConfig(
        { udp: 'nowhere', 'retention-days': '0', tz: 'Mars/Base', 'tls-cert': 'a.crt', 'tls-client-auth': 'sometimes', 'clickhouse-url': 'ftp://x' },
        { HANDLOG_MAX_FRAME_BYTES: 'big' },
      );
    } catch (e: unknown) {
      err = e;
    }
    expect(err).toBeInstanceOf(HandlogError);
    const msg = (err as HandlogError).message;
    expect((err as HandlogError).code).toBe('CONFIG_INVALID');
    for (const part of [
      '--udp: "nowhere" has no port',
      '--retention-days: 0 is outside',
      'HANDLOG_MAX_FRAME_BYTES: "big" is not a whole number',
      '--tz: "Mars/Base"',
      '--tls-cert and --tls-key must be given together',
      '--tls-client-auth: "sometimes" is not one of none, optional, required',
      '--clickhouse-url: "ftp://x" must start with http:// or https://',
    ]) {
      expect(msg).toContain(part);
    }
  });
  it('parses listen addresses', () => {
    expect(parseAddress(':514')).toEqual({ host: '0.0.0.0', port: 514 });
    expect(parseAddress('[::]:514')).toEqual({ host: '::', port: 514 });
    expect(parseAddress('::1:514')).toMatch(/brackets/);
    expect(parseAddress('host:99999')).toMatch(/invalid port/);
  });
});
