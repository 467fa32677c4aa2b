// POST/GET/DELETE /api/sessions (capture issue): upload a capture as a session, list sessions, show
// one with its handsets, delete one with its rows. The rows themselves are read with
// /api/logs?session=NAME like any others.

import { Hono } from 'hono';
import { HandlogError } from '../../core/errors.js';
import type { SessionService } from '../../capture/service.js';
import { one, parseTime, parseTimeZone, rejectUnknown, UPLOAD_PARAMS } from '../params.js';

export function sessionRoutes(sessions: SessionService): Hono {
  const r = new Hono();
  const query = (url: string) => new URL(url).searchParams;

  r.get('/', async (c) => {
    rejectUnknown(query(c.req.url), 'sessions');
    return c.json({ sessions: await sessions.list() });
  });

  // The body is the capture file itself (any format handlog import reads), streamed to disk.
  // `now` and `tz` are what `handlog import` would use importing the file itself (--now, else the
  // file's modification time; --tz): checked before a byte is read.
  r.post('/', async (c) => {
    const q = query(c.req.url);
    rejectUnknown(q, 'sessions', UPLOAD_PARAMS);
    const filename = one(q, 'filename') ?? 'upload';
    const name = one(q, 'name') ?? filename;
    const now = one(q, 'now');
    const anchorMs = now === undefined ? undefined : Date.parse(parseTime('now', now, Date.now()));
    const tzParam = one(q, 'tz');
    const tz = tzParam === undefined ? undefined : parseTimeZone('tz', tzParam);
    const len = c.req.header('Content-Length');
    const declared = len !== undefined && /^\d+$/.test(len) ? Number(len) : null;
    const body = c.req.raw.body;
    if (body === null) throw new HandlogError('BAD_REQUEST', 'body: send the capture file as the request body');
    const { session, upload } = await sessions.upload(body, {
      name,
      filename,
      declaredBytes: declared,
      ...(tz === undefined ? {} : { tz }),
      ...(anchorMs === undefined ? {} : { anchorMs }),
    });
    return c.json({ session, upload }, 202);
  });

  r.get('/:id', async (c) => {
    rejectUnknown(query(c.req.url), 'sessions/:id');
    const s = await sessions.get(c.req.param('id'));
    if (s === null) throw new HandlogError('NOT_FOUND', `no session "${c.req.param('id')}"`);
    return c.json(s);
  });

  r.delete('/:id', async (c) => {
    rejectUnknown(query(c.req.url), 'sessions/:id');
    await sessions.remove(c.req.param('id'));
    return c.json({ deleted: c.req.param('id') });
  });
  return r;
}
