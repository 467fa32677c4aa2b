import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HandlogError } from './errors.js';
import { makeCerts, type Certs } from '../ingest/listeners/test-helpers.js';
import { envName, isLoopbackHost, loadServeConfig, parseAddress, parseApiTokens } from './config.js';

function configError(flags: Record<string, string>, env: Record<string, string> = {}): string {
  try {
    loadServeConfig(flags, env);
  } catch (e: unknown) {
    expect(e).toBeInstanceOf(HandlogError);
    expect((e as HandlogError).code).toBe('CONFIG_INVALID');
    return (e as HandlogError).message;
  }
  throw new Error('expected CONFIG_INVALID');
}

function tokenFile(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-tokens-'));
  const file = path.join(dir, 'tokens');
  fs.writeFileSync(file, text);
  return file;
}

describe('API tokens and the open-API guard', () => {
  const A = 'admin-token-0123456789';
  const V = 'viewer-token-0123456789';
  it('parses TOKEN ROLE [NAME] lines with comments and blank lines', () => {
    const file = tokenFile(`# handlog tokens\n\n${A} admin ops team\n  ${V}\tviewer # the UI\n`);
    const c = loadServeConfig({ 'api-tokens': file }, {});
    expect(c.apiTokensFile).toBe(file);
    expect(c.apiTokens).toEqual([
      { token: A, role: 'admin', name: 'ops team' },
      { token: V, role: 'viewer', name: `${file}:4` },
    ]);
  });
  it('names the file and line of a bad role, a short token and a duplicate', () => {
    const file = tokenFile(`${A} root\nshort viewer\n${V} viewer\n${V} admin\nlonely-token-0123456789\n`);
    const msg = configError({ 'api-tokens': file });
    expect(msg).toContain(`--api-tokens: ${file} line 1: role "root" is not viewer or admin`);
    expect(msg).toContain(`${file} line 2: token is shorter than 16 characters`);
    expect(msg).toContain(`${file} line 4: duplicate token (first on line 3)`);
    expect(msg).toContain(`${file} line 5: expected "TOKEN ROLE [NAME]"`);
    expect(configError({ 'api-tokens': path.join(os.tmpdir(), 'no-such-handlog-tokens') })).toContain('--api-tokens: cannot read');
    expect(parseApiTokens(`${A} admin`, 'x').problems).toEqual([]);
  });
  it('reads the file from HANDLOG_API_TOKENS and single tokens from HANDLOG_API_TOKEN_ADMIN/_VIEWER', () => {
    const file = tokenFile(`${A} admin\n`);
    const c = loadServeConfig({}, { HANDLOG_API_TOKENS: file, HANDLOG_API_TOKEN_VIEWER: V });
    expect(c.apiTokens.map((t) => t.role)).toEqual(['admin', 'viewer']);
    expect(c.apiTokens[1]).toEqual({ token: V, role: 'viewer', name: 'HANDLOG_API_TOKEN_VIEWER' });
    expect(configError({}, { HANDLOG_API_TOKEN_ADMIN: 'short' })).toContain('HANDLOG_API_TOKEN_ADMIN: token is shorter');
    expect(configError({ 'api-tokens': file }, { HANDLOG_API_TOKEN_ADMIN: A })).toContain('HANDLOG_API_TOKEN_ADMIN: duplicate token');
  });
  it('keeps the API open on loopback without tokens', () => {
    for (const http of ['127.0.0.1:8080', '127.3.4.5:1', '[::1]:8080', 'localhost:8080']) {
      const c = loadServeConfig({ http }, {});
      expect(c.apiTokens).toEqual([]);
      expect(c.insecureNoAuth).toBe(false);
    }
  });
  it('refuses a non-loopback --http without tokens unless --insecure-no-auth', () => {
    const msg = configError({ http: '0.0.0.0:8080' });
    expect(msg).toContain('--http 0.0.0.0:8080 is not a loopback address');
    expect(msg).toContain('--api-tokens');
    expect(msg).toContain('--insecure-no-auth');
    expect(configError({ http: '[::]:8080' })).toContain('not a loopback');
    expect(loadServeConfig({ http: '0.0.0.0:8080', 'insecure-no-auth': 'true' }, {}).insecureNoAuth).toBe(true);
    expect(loadServeConfig({ http: '10.0.0.5:8080' }, { HANDLOG_INSECURE_NO_AUTH: '1' }).insecureNoAuth).toBe(true);
    expect(configError({ http: '0.0.0.0:8080' }, { HANDLOG_INSECURE_NO_AUTH: 'maybe' })).toContain('HANDLOG_INSECURE_NO_AUTH: "maybe"');
    expect(loadServeConfig({ http: '0.0.0.0:8080' }, { HANDLOG_API_TOKEN_VIEWER: V }).apiTokens).toHaveLength(1);
  });
  it('knows loopback hosts', () => {
    expect(['127.0.0.1', '127.255.0.9', '::1', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'].every(isLoopbackHost)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '127.example.com', 'localhost.evil'].some(isLoopbackHost)).toBe(false);
  });
});

let certs: Certs;
beforeAll(() => {
  certs = makeCerts();
});
afterAll(() => {
  fs.rmSync(certs.dir, { recursive: true, force: true });
});

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
    const c = loadServeConfig({ 'tls-cert': certs.serverCert, 'tls-key': certs.serverKey }, {});
    expect(c.tls).toEqual({ host: '0.0.0.0', port: 6514 });
    const m = loadServeConfig({ 'tls-cert': certs.serverCert, 'tls-key': certs.serverKey, 'tls-ca': certs.caCert, 'tls-client-auth': 'required' }, {});
    expect(m.tlsCaFile).toBe(certs.caCert);
  });
  it('lists unreadable TLS files with every other problem, each with its flag', () => {
    const msg = configError({
      tls: '127.0.0.1:0',
      'tls-cert': '/nonexist.crt',
      'tls-key': '/nonexist.key',
      'tls-ca': '/nonexist-ca.pem',
      'tls-client-auth': 'required',
      'retention-days': '0',
    });
    expect(msg).toContain('--retention-days: 0 is outside');
    expect(msg).toContain('--tls-cert: cannot read TLS certificate /nonexist.crt');
    expect(msg).toContain('--tls-key: cannot read TLS key /nonexist.key');
    expect(msg).toContain('--tls-ca: cannot read TLS CA bundle /nonexist-ca.pem');
  });
  it('finds a key that does not match the certificate, and files that do not parse', () => {
    expect(configError({ 'tls-cert': certs.serverCert, 'tls-key': certs.server2Key })).toContain(
      `--tls-key: key ${certs.server2Key} does not match certificate ${certs.serverCert}`,
    );
    const junk = path.join(certs.dir, 'junk.pem');
    fs.writeFileSync(junk, 'not a pem file\n');
    const msg = configError({ 'tls-cert': junk, 'tls-key': junk, 'tls-ca': junk, 'tls-client-auth': 'optional' });
    expect(msg).toContain(`--tls-cert: invalid TLS certificate ${junk}`);
    expect(msg).toContain(`--tls-key: invalid TLS key ${junk}`);
    expect(msg).toContain(`--tls-ca: invalid TLS CA bundle ${junk}`);
    expect(msg).not.toContain('does not match');
    // A key where the CA bundle belongs is no CA.
    expect(configError({ 'tls-cert': certs.serverCert, 'tls-key': certs.serverKey, 'tls-ca': certs.serverKey })).toContain('--tls-ca: invalid TLS CA bundle');
    // --tls off: the files are not used, so not checked.
    expect(loadServeConfig({ tls: 'off', 'tls-cert': '/nonexist.crt', 'tls-key': '/nonexist.key' }, {}).tls).toBeNull();
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

describe('listen addresses are checked with every other problem', () => {
  it('lists a bad IPv4 host, a bad bracketed IPv6 host and a bad host name at once, each with its flag, beside other problems', () => {
    const msg = configError({
      data: fs.mkdtempSync(path.join(os.tmpdir(), 'handlog-cfg-')),
      tcp: '256.1.1.1:5514',
      udp: '[zz::1]:5514',
      http: 'bad_host!:8080',
      'retention-days': '0',
    });
    expect(msg).toMatch(/--tcp: .*"256\.1\.1\.1" is not a valid IPv4 address/);
    expect(msg).toMatch(/--udp: .*"zz::1" is not a valid IPv6 address/);
    expect(msg).toMatch(/--http: .*"bad_host!" is not an IP address or host name/);
    expect(msg).toMatch(/--retention-days: 0 is outside/);
    expect(msg).not.toMatch(/is not a loopback address/);
  });
});

describe('--alert-webhook', () => {
  it('is checked as the webhook channel checks a URL, before anything is opened', () => {
    for (const url of ['http://', 'http://:99999/x']) {
      expect(configError({ 'alert-webhook': url }, {})).toContain(`--alert-webhook: "${url}" is not a usable webhook URL ("${url}" is not a URL)`);
    }
    expect(loadServeConfig({ 'alert-webhook': 'http://127.0.0.1:9/hook' }, {}).alertWebhook).toBe('http://127.0.0.1:9/hook');
  });
});

describe('problems name where the value came from', () => {
  it('a bad value from the environment is reported under its variable, not under the flag', () => {
    const msg = configError(
      {},
      {
        CLICKHOUSE_URL: 'foo',
        HANDLOG_TZ: 'Mars',
        HANDLOG_ALERT_WEBHOOK: 'ftp://x',
        HANDLOG_TLS_CLIENT_AUTH: 'required',
        HANDLOG_TLS_CERT: '/nonexist/cert.pem',
      },
    );
    expect(msg).toMatch(/HANDLOG_TZ: "Mars" is not a known IANA time zone/);
    expect(msg).toMatch(/CLICKHOUSE_URL: "foo" must start with http/);
    expect(msg).toMatch(/HANDLOG_ALERT_WEBHOOK: "ftp:\/\/x" is not a usable webhook URL \(must be an http:\/\/ or https:\/\/ URL\)/);
    expect(msg).toMatch(/HANDLOG_TLS_CERT: cannot read TLS certificate \/nonexist\/cert\.pem/);
    expect(msg).toMatch(/HANDLOG_TLS_CLIENT_AUTH required needs --tls-ca/);
    expect(msg).not.toMatch(/ --tz:/);
  });
});
