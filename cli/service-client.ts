// Calls from `handlog import` and `handlog replay` to a running `handlog serve` (its data directory is
// held by it): one way to tell the user what went wrong.

import { errorMessage, HandlogError } from '../core/errors.js';

export interface ServiceCall {
  /** The service's base URL, for the message when it cannot be reached. */
  base: string;
  token: string | undefined;
  /** What was asked, after "the service answered 404" (e.g. ` to the export of session "x"`). */
  what?: string;
  /** Said when the service refuses the token (401/403): which token to pass, and how. */
  tokenHint: string;
}

/**
 * `fetch` with the token; the service unreachable or failing (5xx) is STORE_UNAVAILABLE (exit 1), a
 * refusal of what was asked (4xx) is BAD_ARGUMENT (exit 2, the user's to fix), with the service's
 * own message.
 */
export async function callService(url: string, c: ServiceCall, init: RequestInit = {}): Promise<Response> {
  const auth: Record<string, string> = c.token === undefined ? {} : { Authorization: `Bearer ${c.token}` };
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { ...auth, ...(init.headers as Record<string, string> | undefined) } });
  } catch (e: unknown) {
    throw new HandlogError('STORE_UNAVAILABLE', `cannot reach the handlog service at ${c.base}: ${errorMessage(e)}`);
  }
  if (res.ok) return res;
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  const hint = res.status === 401 || res.status === 403 ? ` (${c.tokenHint})` : '';
  throw new HandlogError(
    res.status >= 500 ? 'STORE_UNAVAILABLE' : 'BAD_ARGUMENT',
    `the service answered ${res.status}${c.what ?? ''}: ${body?.error?.message ?? res.statusText}${hint}`,
  );
}
