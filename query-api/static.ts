// The built UI (ui/dist) served by the same process: hashed assets cached for a year, index.html
// for every other GET that is not an API path (client-side routes like /devices/00907a11baaa), a
// Content-Security-Policy that allows no inline or foreign script, gzip when the client takes it.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Context, Hono } from 'hono';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Log text is attacker-controlled: even if some were ever rendered as HTML, no script could run. */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'";

interface Asset {
  body: Buffer;
  gz: Buffer | null;
  type: string;
  etag: string;
}

/** ui/dist of the package this module belongs to (works from dist/ and from the sources under tsx). */
export function findUiDist(start = path.dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = start;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'ui', 'dist');
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

function load(file: string): Asset | null {
  let body: Buffer;
  try {
    if (!fs.statSync(file).isFile()) return null;
    body = fs.readFileSync(file);
  } catch {
    return null;
  }
  const type = TYPES[path.extname(file)] ?? 'application/octet-stream';
  const compressible = /text|javascript|json|svg/.test(type) && body.length > 1024;
  const stat = fs.statSync(file);
  return { body, gz: compressible ? gzipSync(body, { level: 9 }) : null, type, etag: `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"` };
}

function send(c: Context, a: Asset, cache: string): Response {
  const headers: Record<string, string> = {
    'Content-Type': a.type,
    'Cache-Control': cache,
    ETag: a.etag,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
  if (a.type.startsWith('text/html')) {
    headers['Content-Security-Policy'] = UI_CSP;
    headers['X-Frame-Options'] = 'DENY';
  }
  if (c.req.header('if-none-match') === a.etag) return new Response(null, { status: 304, headers });
  const gzip = a.gz !== null && /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
  if (gzip) {
    headers['Content-Encoding'] = 'gzip';
    headers['Vary'] = 'Accept-Encoding';
  }
  const body = gzip && a.gz !== null ? a.gz : a.body;
  return new Response(c.req.method === 'HEAD' ? null : new Uint8Array(body), { status: 200, headers });
}

/** Mounts the UI on `app` (after the API routes). Without a build, `/` explains how to make one. */
export function mountUi(app: Hono, uiDir: string | null): void {
  // Keyed by the file found, and only files found: the paths clients ask for are theirs to make up
  // (`/x1.js`, `/assets//app.js`, …), and a miss may be a file a UI rebuild adds later.
  const cache = new Map<string, Asset>();
  const root = uiDir === null ? null : path.resolve(uiDir);
  const asset = (rel: string): Asset | null => {
    if (root === null) return null;
    const file = path.resolve(root, rel);
    if (!file.startsWith(root + path.sep)) return null;
    let a = cache.get(file);
    if (a === undefined) {
      const loaded = load(file);
      if (loaded === null) return null;
      cache.set(file, (a = loaded));
    }
    return a;
  };
  app.on(['GET', 'HEAD'], '*', (c, next) => {
    const p = c.req.path;
    if (p.startsWith('/api/') || p === '/api' || p === '/healthz' || p === '/metrics') return next();
    if (uiDir === null) {
      return c.text('handlog: the web UI is not built. Run `npm run build` (or `npm ci`) in the handlog directory, then restart.\nThe API is at /api/ (see /api/openapi.json).\n', 503);
    }
    if (p.startsWith('/assets/')) {
      const a = asset(p.slice(1));
      return a === null ? next() : send(c, a, 'public, max-age=31536000, immutable');
    }
    const file = p !== '/' && path.extname(p) !== '' ? asset(p.slice(1)) : null;
    if (file !== null) return send(c, file, 'no-cache');
    const index = asset('index.html');
    return index === null ? next() : send(c, index, 'no-cache');
  });
}
