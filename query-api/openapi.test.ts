import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openApiDocument, PARAM_DOCS } from './openapi.js';
import { ROUTE_PARAMS, UPLOAD_PARAMS } from './params.js';
import { API_VERSION } from './version.js';
import { createApp } from './app.js';
import { Registry } from '../core/metrics.js';
import { silentLogger } from '../core/logger.js';
import type { Store } from '../store/client.js';

type Doc = { openapi: string; info: { version: string }; paths: Record<string, { get: { parameters?: { name: string; in: string }[] } }> };

describe('OpenAPI document', () => {
  const doc = openApiDocument(API_VERSION) as unknown as Doc;

  it('documents every query parameter each route accepts, and only those', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const [route, params] of Object.entries(ROUTE_PARAMS)) {
      const path = '/api/' + route.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.get;
      expect(op, path).toBeDefined();
      const query = (op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name).sort();
      expect(query, path).toEqual([...params, 'token'].sort());
    }
    for (const name of Object.values(ROUTE_PARAMS).flat()) expect(PARAM_DOCS[name], name).toBeDefined();
  });

  it('documents the query parameters of the upload (POST /api/sessions) from the list the route checks', () => {
    const post = (doc.paths['/api/sessions'] as unknown as { post: { parameters: { name: string; in: string; description?: string }[] } }).post;
    expect(post.parameters.map((p) => p.name)).toEqual([...UPLOAD_PARAMS]);
    for (const p of post.parameters) expect(p.description, p.name).toBeTruthy();
  });

  it('describes every /api route the app serves, and is served at /api/openapi.json', async () => {
    // A store whose client is never called: route registration and this endpoint do not query.
    const store = { client: {} } as unknown as Store;
    const app = createApp({
      store,
      metrics: new Registry(),
      logger: silentLogger,
      health: async () => ({ status: 'ok' }) as never,
      pipeline: { subscribe: () => () => undefined },
    } as never);
    const served = new Set(
      app.routes
        .filter((r) => r.method === 'GET' && r.path.startsWith('/api/') && r.path !== '/api/openapi.json')
        .map((r) => r.path.replace(/:(\w+)/g, '{$1}').replace(/\/$/, '')),
    );
    expect(served.size).toBeGreaterThanOrEqual(10);
    for (const p of served) expect(Object.keys(doc.paths), p).toContain(p);
    const res = await app.request('/api/openapi.json');
    expect(res.status).toBe(200);
    const body = (await res.json()) as Doc;
    expect(body.paths['/api/logs']).toBeDefined();
  });

  it('carries the package version', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(doc.info.version).toBe(pkg.version);
  });
});
