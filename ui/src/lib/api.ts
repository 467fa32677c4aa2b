// The UI's only door to the service: fetch with the stored API token, errors as ApiError with the
// server's {error:{code,message}}, and a signal the login screen listens to on 401.

import { auth } from './state/auth.svelte.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | undefined | null>;

/**
 * The row fields the log table (and the session player's table) shows: pages ask only for these
 * (`fields`), and the detail panel fetches the whole row when one is opened.
 */
export const LOG_TABLE_FIELDS = 'severity,severity_name,mac,tag,host,message,battery,parse_error';

export function queryString(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json', ...extra };
  if (auth.token !== '') h['Authorization'] = `Bearer ${auth.token}`;
  return h;
}

async function fail(r: Response): Promise<never> {
  let code = `HTTP_${r.status}`;
  let message = `${r.status} ${r.statusText}`;
  try {
    const body = (await r.json()) as { error?: { code?: string; message?: string } };
    if (body.error?.code !== undefined) code = body.error.code;
    if (body.error?.message !== undefined) message = body.error.message;
  } catch {
    // not JSON: keep the status line
  }
  if (r.status === 401) auth.required(message);
  throw new ApiError(r.status, code, message);
}

export async function apiGet<T>(path: string, q: Query = {}, signal?: AbortSignal): Promise<T> {
  let r: Response;
  try {
    r = await fetch(path + queryString(q), { headers: headers(), ...(signal === undefined ? {} : { signal }) });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK', `cannot reach the handlog service (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!r.ok) await fail(r);
  return (await r.json()) as T;
}

export async function apiSend<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, q: Query = {}): Promise<T> {
  let r: Response;
  try {
    r = await fetch(path + queryString(q), {
      method,
      headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `cannot reach the handlog service (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!r.ok) await fail(r);
  const text = await r.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** URL for EventSource and downloads, which cannot send headers: the token goes in the query. */
export function streamUrl(path: string, q: Query): string {
  return path + queryString(auth.token === '' ? q : { ...q, token: auth.token });
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}

export function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.status === 0 ? e.message : `${e.message} (${e.code})`;
  return e instanceof Error ? e.message : String(e);
}
