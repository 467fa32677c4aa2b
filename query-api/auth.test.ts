// Access control of /api/*: the decision function, the middleware on a tiny Hono app, and the
// mounting in createApp (/healthz and /metrics stay open).

import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { ApiToken } from '../core/config.js';
import { silentLogger } from '../core/logger.js';
import { Registry } from '../core/metrics.js';
import type { Store } from '../store/client.js';
import { createApp } from './app.js';
import type { SessionService } from '../capture/service.js';
import { apiAuth, createAuthorizer, presentedToken } from './auth.js';

const VIEWER = 'viewer-token-0123456789';
const ADMIN = 'admin-token-0123456789ab';
const TOKENS: ApiToken[] = [
  { token: VIEWER, role: 'viewer', name: 'ui' },
  { token: ADMIN, role: 'admin', name: 'ops' },
];

function tiny(): Hono {
  const app = new Hono();
  app.use('/api/*', apiAuth(TOKENS));
  app.get('/api/things', (c) => c.json({ ok: true }));
  app.post('/api/things', (c) => c.json({ created: true }, 201));
  app.get('/healthz', (c) => c.text('ok'));
  return app;
}

const bearer = (t: string) => ({ headers: { Authorization: `Bearer ${t}` } });

describe('authorizer decision', () => {
  const a = createAuthorizer(TOKENS);
  it('requires a known token', () => {
    expect(a.decide('GET', null)).toMatchObject({ ok: false, status: 401, code: 'UNAUTHORIZED' });
    expect(a.decide('GET', 'nope-nope-nope-nope')).toMatchObject({ ok: false, status: 401 });
    expect(a.decide('GET', VIEWER.slice(0, -1))).toMatchObject({ ok: false, status: 401 });
  });
  it('lets viewers read and only admins write', () => {
    expect(a.decide('GET', VIEWER)).toEqual({ ok: true, role: 'viewer', name: 'ui' });
    expect(a.decide('HEAD', VIEWER)).toMatchObject({ ok: true });
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect(a.decide(m, VIEWER)).toMatchObject({ ok: false, status: 403, code: 'FORBIDDEN' });
      expect(a.decide(m, ADMIN)).toMatchObject({ ok: true, role: 'admin' });
    }
  });
  it('takes the token from the header, or ?token= on reads only', () => {
    expect(presentedToken('GET', 'Bearer abc', 'zzz')).toBe('abc');
    expect(presentedToken('GET', 'bearer  abc ', undefined)).toBe('abc');
    expect(presentedToken('GET', 'Basic abc', undefined)).toBe('');
    expect(presentedToken('GET', undefined, 'q')).toBe('q');
    expect(presentedToken('POST', undefined, 'q')).toBeNull();
    expect(presentedToken('GET', undefined, undefined)).toBeNull();
  });
});

describe('apiAuth middleware', () => {
  it('answers 401 with WWW-Authenticate without or with an unknown token', async () => {
    for (const init of [{}, bearer('unknown-token-0123456789')]) {
      const res = await tiny().request('/api/things', init);
      expect(res.status).toBe(401);
      expect(res.headers.get('WWW-Authenticate')).toMatch(/^Bearer/);
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    }
  });
  it('lets a viewer GET, forbids a viewer POST, lets an admin POST', async () => {
    expect((await tiny().request('/api/things', bearer(VIEWER))).status).toBe(200);
    const res = await tiny().request('/api/things', { method: 'POST', ...bearer(VIEWER) });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect((await tiny().request('/api/things', { method: 'POST', ...bearer(ADMIN) })).status).toBe(201);
    expect((await tiny().request('/api/things', bearer(ADMIN))).status).toBe(200);
  });
  it('lets a viewer POST a rule test (it reads only), not a rule', async () => {
    const app = new Hono();
    app.use('/api/*', apiAuth(TOKENS));
    app.post('/api/alerts/rules/test', (c) => c.json({ ok: true }));
    app.post('/api/alerts/rules', (c) => c.json({ ok: true }, 201));
    expect((await app.request('/api/alerts/rules/test', { method: 'POST', ...bearer(VIEWER) })).status).toBe(200);
    expect((await app.request('/api/alerts/rules/test', { method: 'POST' })).status).toBe(401);
    expect((await app.request('/api/alerts/rules', { method: 'POST', ...bearer(VIEWER) })).status).toBe(403);
  });
  it('accepts ?token= for EventSource-style GETs but not for writes', async () => {
    expect((await tiny().request(`/api/things?token=${VIEWER}`)).status).toBe(200);
    const post = await tiny().request(`/api/things?token=${ADMIN}`, { method: 'POST' });
    expect(post.status).toBe(401);
    // The client did send a token: it is told where it has to go, not that none was sent.
    expect(((await post.json()) as { error: { message: string } }).error.message).toMatch(/\?token= is taken on reads only.*Authorization: Bearer/);
  });
  it('leaves routes outside /api open', async () => {
    expect((await tiny().request('/healthz')).status).toBe(200);
  });
});

describe('createApp errors', () => {
  it('a store that cannot be reached is a 503 STORE_UNAVAILABLE on every route, not a 500', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const client = { query: () => Promise.reject(new Error('no store in unit tests')) } as unknown as ClickHouseClient;
    const app = createApp({
      store: { mode: 'server', client } as unknown as Store,
      metrics: new Registry(),
      logger: silentLogger,
      health: () => Promise.reject(new Error('unused')),
      pipeline: { subscribe: () => () => undefined },
      sessions: { list: () => Promise.reject(new Error('request failed', { cause: refused })) } as unknown as SessionService,
    });
    const res = await app.request('/api/sessions');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
  });
});

describe('createApp with tokens', () => {
  function app(apiTokens: readonly ApiToken[]) {
    const client = { query: () => Promise.reject(new Error('no store in unit tests')) } as unknown as ClickHouseClient;
    return createApp({
      store: { mode: 'embedded', client } as unknown as Store,
      metrics: new Registry(),
      logger: silentLogger,
      health: () => Promise.reject(new Error('unused')),
      pipeline: { subscribe: () => () => undefined },
      apiTokens,
    });
  }
  it('guards /api/* and leaves /metrics open', async () => {
    const a = app(TOKENS);
    expect((await a.request('/api/logs?bogus=1')).status).toBe(401);
    // Past the gate, the parameter check answers (400) before the store is touched.
    expect((await a.request('/api/logs?bogus=1', bearer(VIEWER))).status).toBe(400);
    expect((await a.request(`/api/logs/tail?bogus=1&token=${VIEWER}`)).status).toBe(400);
    expect((await a.request('/api/logs', { method: 'POST', ...bearer(VIEWER) })).status).toBe(403);
    expect((await a.request('/api/logs', { method: 'POST', ...bearer(ADMIN) })).status).toBe(404);
    expect((await a.request('/metrics')).status).toBe(200);
  });
  it('is open without tokens', async () => {
    expect((await app([]).request('/api/logs?bogus=1')).status).toBe(400);
  });
  it('GET /api/whoami tells the caller its role (the UI offers a viewer no writes)', async () => {
    const a = app(TOKENS);
    expect(await (await a.request('/api/whoami', bearer(VIEWER))).json()).toEqual({ role: 'viewer', name: 'ui', auth: true });
    expect(await (await a.request('/api/whoami', bearer(ADMIN))).json()).toEqual({ role: 'admin', name: 'ops', auth: true });
    expect((await a.request('/api/whoami')).status).toBe(401);
    expect((await a.request('/api/whoami?x=1', bearer(ADMIN))).status).toBe(400);
    expect(await (await app([]).request('/api/whoami')).json()).toEqual({ role: 'admin', name: null, auth: false });
  });
});
