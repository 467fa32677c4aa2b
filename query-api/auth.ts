// Bearer-token access control of /api/* (issue "query API", item 6). Viewers may read (GET/HEAD);
// every other method needs an admin token. /healthz and /metrics are mounted outside /api and stay
// open. Tokens are compared as SHA-256 digests with timingSafeEqual, against every known token.

import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { ApiRole, ApiToken } from '../core/config.js';

export type AuthDecision =
  | { ok: true; role: ApiRole; name: string }
  | { ok: false; status: 401 | 403; code: 'UNAUTHORIZED' | 'FORBIDDEN'; message: string };

export interface Authorizer {
  /** `presented` is the token sent by the client, or null when none was sent. */
  decide(method: string, presented: string | null): AuthDecision;
}

const READ_METHODS = new Set(['GET', 'HEAD']);
/** POST routes that change nothing (a body is how they take their question): viewers may call them. */
const READ_ONLY_POSTS = new Set(['/api/alerts/rules/test']);

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export function createAuthorizer(tokens: readonly ApiToken[]): Authorizer {
  const known = tokens.map((t) => ({ hash: digest(t.token), role: t.role, name: t.name }));
  return {
    decide(method, presented) {
      if (presented === null || presented === '') {
        return { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'an API token is required (Authorization: Bearer <token>)' };
      }
      const h = digest(presented);
      let match: (typeof known)[number] | undefined;
      // No early exit: the time taken does not depend on which token matched.
      for (const k of known) if (timingSafeEqual(h, k.hash) && match === undefined) match = k;
      if (match === undefined) return { ok: false, status: 401, code: 'UNAUTHORIZED', message: 'unknown API token' };
      if (match.role !== 'admin' && !READ_METHODS.has(method.toUpperCase())) {
        return { ok: false, status: 403, code: 'FORBIDDEN', message: `role ${match.role} may only read (GET/HEAD); ${method} needs an admin token` };
      }
      return { ok: true, role: match.role, name: match.name };
    },
  };
}

/** The token of a request: `Authorization: Bearer …`, or `?token=` on GET/HEAD (EventSource, downloads). */
export function presentedToken(method: string, authorization: string | undefined, queryToken: string | undefined): string | null {
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m?.[1] ?? '';
  }
  if (queryToken !== undefined && READ_METHODS.has(method.toUpperCase())) return queryToken;
  return null;
}

/** Hono middleware for `/api/*`; mount only when tokens are configured. */
export function apiAuth(tokens: readonly ApiToken[]): MiddlewareHandler {
  const authorizer = createAuthorizer(tokens);
  return async (c, next) => {
    const authorization = c.req.header('Authorization');
    const queryToken = c.req.query('token');
    const token = presentedToken(c.req.method, authorization, queryToken);
    const readOnlyPost = c.req.method === 'POST' && READ_ONLY_POSTS.has(c.req.path.replace(/\/+$/, ''));
    let d = authorizer.decide(readOnlyPost ? 'GET' : c.req.method, token);
    if (!d.ok && token === null && authorization === undefined && queryToken !== undefined) {
      d = { ...d, message: `?token= is taken on reads only; a ${c.req.method} needs its token in the header (Authorization: Bearer <token>)` };
    }
    if (!d.ok) {
      if (d.status === 401) c.header('WWW-Authenticate', 'Bearer realm="handlog"');
      return c.json({ error: { code: d.code, message: d.message } }, d.status);
    }
    // The token's role and name, for GET /api/whoami.
    c.set('apiCaller', { role: d.role, name: d.name });
    await next();
  };
}

declare module 'hono' {
  interface ContextVariableMap {
    /** Who called, when API tokens are configured (set by apiAuth). */
    apiCaller?: { role: ApiRole; name: string };
  }
}
