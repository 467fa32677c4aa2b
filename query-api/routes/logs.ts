// GET /api/logs, /api/logs/count, /api/logs/:id (DESIGN §4).

import type { ClickHouseClient } from '@clickhouse/client';
import { Hono } from 'hono';
import { HandlogError } from '../../core/errors.js';
import { countLogs, getLog, searchLogs } from '../../store/queries.js';
import { parseLogFilters } from '../params.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function logRoutes(deps: { client: ClickHouseClient; now: () => number }): Hono {
  const r = new Hono();
  const query = (url: string) => new URL(url).searchParams;

  r.get('/', async (c) => {
    const f = parseLogFilters(query(c.req.url), deps.now());
    return c.json(await searchLogs(deps.client, f));
  });
  r.get('/count', async (c) => {
    const f = parseLogFilters(query(c.req.url), deps.now(), { paging: false });
    return c.json({ count: await countLogs(deps.client, f) });
  });
  r.get('/:id', async (c) => {
    const id = c.req.param('id');
    if (!UUID.test(id)) throw new HandlogError('BAD_REQUEST', `id: "${id}" is not a log id (a UUID)`);
    const row = await getLog(deps.client, id);
    if (row === null) throw new HandlogError('NOT_FOUND', `no log with id ${id}`);
    return c.json(row);
  });
  return r;
}
