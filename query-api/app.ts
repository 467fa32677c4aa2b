// The HTTP API (Hono). Routes are mounted here; each route module owns its slice of the contract.

import { Hono, type Context } from 'hono';
import type { ApiToken } from '../core/config.js';
import { HandlogError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Registry } from '../core/metrics.js';
import type { Store } from '../store/client.js';
import { API_VERSION } from './version.js';
import { openApiDocument } from './openapi.js';
import { rejectUnknown } from './params.js';
import { apiAuth } from './auth.js';
import { deviceRoutes } from './routes/devices.js';
import { logRoutes } from './routes/logs.js';
import { statsRoutes } from './routes/stats.js';
import { createTailHub, type RecordSource, type TailLimits } from './tail.js';
import { mountUi } from './static.js';
import { sessionRoutes } from './routes/sessions.js';
import type { SessionService } from '../capture/service.js';
import type { AlertService } from '../alerts/service.js';
import { alertRoutes } from './routes/alerts.js';

export interface HealthReport {
  status: 'ok' | 'degraded';
  store: { mode: 'embedded' | 'server'; reachable: boolean; migrated: boolean; last_error: string | null };
  wal: { segments: number; bytes: number; rows: number; full: boolean };
  listeners: Record<string, string | null>;
}

export interface AppDeps {
  store: Store;
  metrics: Registry;
  logger: Logger;
  health(): Promise<HealthReport>;
  /** Accepted rows as they arrive (the ingest pipeline): the live tail's only source. */
  pipeline: RecordSource;
  /** Live-tail buffer limits and heartbeat; the defaults suit production. */
  tailLimits?: Partial<TailLimits>;
  /** Clock for relative times (`-15m`); injectable for tests. */
  now?: () => number;
  /** API tokens; when empty or absent, /api/* is open (loopback-only, enforced by the config). */
  apiTokens?: readonly ApiToken[];
  /** The built web UI (ui/dist) served at `/`; null when it is not built, absent for API-only apps. */
  uiDir?: string | null;
  /** Capture sessions (upload, list, delete); absent in API-only test apps. */
  sessions?: SessionService;
  /** Alert rules, channels, silences and fired alerts; absent in API-only test apps. */
  alerts?: AlertService;
}

const STATUS: Partial<Record<ErrorCode, 400 | 401 | 403 | 404 | 409 | 413 | 503>> = {
  BAD_REQUEST: 400,
  BAD_ARGUMENT: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  STORE_UNAVAILABLE: 503,
};

export function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const now = deps.now ?? Date.now;

  app.onError((err: Error, c: Context) => {
    if (err instanceof HandlogError) {
      const status = STATUS[err.code] ?? 500;
      if (status >= 500) deps.logger.warn('request failed', { path: c.req.path, code: err.code, err: err.message });
      // The rest of a refused upload is not read: the connection cannot carry another request.
      if (status === 413) c.header('Connection', 'close');
      return c.json(errorBody(err.code, err.message), status);
    }
    // A route that reached the store without classifying its errors (sessions, alerts): a store that
    // cannot be reached is still a 503, as on /api/logs, not an internal error.
    if (isConnectionError(err)) {
      deps.logger.warn('request failed', { path: c.req.path, code: 'STORE_UNAVAILABLE', err: err.message });
      return c.json(errorBody('STORE_UNAVAILABLE', `the store cannot be reached: ${err.message}`), 503);
    }
    deps.logger.error('unhandled request error', { path: c.req.path, err: err.message, stack: err.stack });
    return c.json(errorBody('INTERNAL', 'internal error'), 500);
  });
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `no route for ${c.req.method} ${c.req.path}`), 404));

  app.get('/healthz', async (c) => {
    const h = await deps.health();
    return c.json(h, h.status === 'ok' ? 200 : 503);
  });
  app.get('/metrics', (c) => {
    c.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    return c.body(deps.metrics.render());
  });
  if (deps.apiTokens !== undefined && deps.apiTokens.length > 0) {
    const auth = apiAuth(deps.apiTokens);
    app.use('/api', auth);
    app.use('/api/*', auth);
  }
  // The caller's role, for the UI to offer only what the token may do.
  app.get('/api/whoami', (c) => {
    rejectUnknown(new URL(c.req.url).searchParams, 'whoami');
    const who = c.get('apiCaller');
    return c.json(who === undefined ? { role: 'admin', name: null, auth: false } : { role: who.role, name: who.name, auth: true });
  });
  const openapi = openApiDocument(API_VERSION);
  app.get('/api/openapi.json', (c) => c.json(openapi));
  const tail = createTailHub(deps.pipeline, { metrics: deps.metrics, logger: deps.logger }, deps.tailLimits);
  const client = deps.store.client;
  app.route('/api/logs', logRoutes({ client, now, logger: deps.logger, tail }));
  app.route('/api/devices', deviceRoutes({ client, now }));
  app.route('/api', statsRoutes({ client, now }));
  if (deps.sessions !== undefined) app.route('/api/sessions', sessionRoutes(deps.sessions));
  if (deps.alerts !== undefined) app.route('/api/alerts', alertRoutes(deps.alerts));
  if (deps.uiDir !== undefined) mountUi(app, deps.uiDir);
  return app;
}

const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'UND_ERR_SOCKET']);

/** Whether `e` (or an error it was caused by) is a network failure to reach a peer. */
function isConnectionError(e: unknown): boolean {
  for (let x = e, depth = 0; typeof x === 'object' && x !== null && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) return true;
  }
  return false;
}
