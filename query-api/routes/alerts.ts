// /api/alerts: rules, channels, silences (CRUD), fired alerts, acknowledgement, the unacknowledged
// count for the header badge, "test this rule" and "send a test notification". Writes need an
// admin token (query-api/auth.ts applies to every non-GET under /api).

import { Hono, type Context } from 'hono';
import type { AlertService, Collection } from '../../alerts/service.js';
import { EVENT_STATES, type EventState } from '../../alerts/event-store.js';
import { MAX_LIMIT } from '../../store/queries.js';
import { bad, one, parseLimit, parseMacParam, rejectUnknown, type RouteName } from '../params.js';

const MAX_BODY_BYTES = 256 * 1024;

async function body(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.length > MAX_BODY_BYTES) throw bad('body', `is larger than ${MAX_BODY_BYTES} bytes`);
  if (text.trim() === '') throw bad('body', 'is empty (expected a JSON object)');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw bad('body', 'is not valid JSON');
  }
}

function noParams(c: Context, route: RouteName): void {
  rejectUnknown(new URL(c.req.url).searchParams, route);
}

/** GET (list, one), POST, PUT (merge) and DELETE of one configuration list. */
function crud<V>(r: Hono, name: 'rules' | 'channels' | 'silences', col: Collection<V>): void {
  r.get(`/${name}`, (c) => {
    noParams(c, `alerts/${name}`);
    return c.json({ [name]: col.list() });
  });
  r.post(`/${name}`, async (c) => c.json(col.create(await body(c)), 201));
  r.get(`/${name}/:id`, (c) => {
    noParams(c, `alerts/${name}/:id`);
    return c.json(col.get(c.req.param('id')));
  });
  r.put(`/${name}/:id`, async (c) => c.json(col.update(c.req.param('id'), await body(c))));
  r.delete(`/${name}/:id`, (c) => {
    col.remove(c.req.param('id'));
    return c.json({ deleted: c.req.param('id') });
  });
}

export function alertRoutes(alerts: AlertService): Hono {
  const r = new Hono();
  // Changes take their input from the JSON body: a query parameter on them is a mistake (400), as
  // unknown parameters are on the GET routes.
  r.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      for (const key of new URL(c.req.url).searchParams.keys()) {
        if (key !== 'token') throw bad(key, `unknown parameter for ${c.req.method} ${new URL(c.req.url).pathname} (it takes none; send the JSON body)`);
      }
    }
    await next();
  });

  crud(r, 'rules', alerts.rules);
  r.post('/rules/test', async (c) => c.json(await alerts.testRule(await body(c))));
  crud(r, 'channels', alerts.channels);
  r.post('/channels/:id/test', async (c) => c.json(await alerts.testChannel(c.req.param('id'))));
  crud(r, 'silences', alerts.silences);

  r.get('/events', async (c) => {
    const q = new URL(c.req.url).searchParams;
    rejectUnknown(q, 'alerts/events');
    const state = one(q, 'state');
    if (state !== undefined && !(EVENT_STATES as readonly string[]).includes(state)) {
      throw bad('state', `"${state}" is not one of ${EVENT_STATES.join(', ')}`);
    }
    const ruleId = one(q, 'rule_id');
    const mac = one(q, 'mac');
    const events = await alerts.listEvents({
      limit: parseLimit(q, 'limit', 100, MAX_LIMIT),
      ...(state === undefined ? {} : { state: state as EventState }),
      ...(ruleId === undefined || ruleId === '' ? {} : { rule_id: ruleId }),
      ...(mac === undefined || mac === '' ? {} : { mac: parseMacParam('mac', mac) }),
    });
    return c.json({ events });
  });
  r.post('/events/:id/ack', async (c) => c.json(await alerts.acknowledge(c.req.param('id'), 'api')));

  r.get('/summary', async (c) => {
    noParams(c, 'alerts/summary');
    return c.json(await alerts.summary());
  });
  return r;
}
