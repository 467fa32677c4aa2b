// GET /api/openapi.json — built from the same per-route parameter lists the routes validate with
// (params.ts ROUTE_PARAMS), so the document cannot list a parameter a route would refuse, or miss
// one it accepts; openapi.test.ts also checks every /api route registered in the app is described.

import { SEVERITY_NAMES } from '../core/record.js';
import { LOG_FIELDS, MAX_LIMIT } from '../store/queries.js';
import { ROUTE_PARAMS, UPLOAD_PARAMS, type RouteName } from './params.js';

type Schema = Record<string, unknown>;

const TIME = { type: 'string', description: 'ISO-8601 time, or relative to now: -15m, -2h, -7d, now' };

/** Every parameter any route accepts, documented once. */
export const PARAM_DOCS: Record<string, { description: string; schema: Schema }> = {
  mac: { description: 'Handset MAC in any notation (00907a11baaa, 00:90:7A:11:BA:AA, 00-90-…, 0090.7a11.baaa); comma list', schema: { type: 'string' } },
  tag: { description: 'Exact, case-sensitive tag; several joined by | like the handset (SipService|SlnkOTA)', schema: { type: 'string' } },
  tag_contains: { description: 'Case-insensitive substring of the tag (the CMS "View log" semantics)', schema: { type: 'string' } },
  severity: { description: `Comma list of severities: 0–7 or ${SEVERITY_NAMES.join(', ')}`, schema: { type: 'string' } },
  max_severity: { description: 'That severity and worse (numerically lower or equal)', schema: { type: 'string' } },
  q: {
    description:
      'Text to find. On logs: words and "quoted phrases", each a case-insensitive substring of the message, all required (at most 16). On devices/tags: a substring of MAC, IP, host or tag',
    schema: { type: 'string' },
  },
  host: { description: 'Exact syslog header host', schema: { type: 'string' } },
  session: { description: 'Import/replay session name', schema: { type: 'string' } },
  from: { description: 'Start of the range on `time` (inclusive); an ISO time without a zone is UTC', schema: TIME },
  to: { description: 'End of the range on `time` (exclusive); an ISO time without a zone is UTC', schema: TIME },
  limit: { description: 'Rows per page', schema: { type: 'integer', minimum: 1, maximum: MAX_LIMIT } },
  cursor: { description: 'next_cursor of the previous page (a relative from/to keeps the first page\'s window)', schema: { type: 'string' } },
  fields: {
    description: `Comma list of the row fields to return (id and time always; default every field; fewer fields, a faster page): ${LOG_FIELDS.join(', ')}`,
    schema: { type: 'string' },
  },
  format: { description: 'Export format', schema: { type: 'string', enum: ['ndjson', 'csv'], default: 'ndjson' } },
  interval: { description: 'Bucket size: 30s, 5m, 1h, 1d, 1w (chosen from the range when absent)', schema: { type: 'string' } },
  sort: { description: 'last_seen, mac, errors_24h or battery_level_pct; - prefix for descending', schema: { type: 'string', default: '-last_seen' } },
  name: { description: 'Session name (a session of that name gets the file added to it)', schema: { type: 'string' } },
  filename: { description: 'Original file name of the uploaded capture', schema: { type: 'string' } },
  now: {
    description:
      'Year anchor of the capture\'s year-less times, as `handlog import --now` (the CLI sends its --now, else the file\'s modification time); default: when the upload arrived',
    schema: TIME,
  },
  tz: { description: 'IANA zone of the capture\'s zone-less times, as `handlog import --tz` (e.g. Europe/Berlin); default: the service\'s --tz', schema: { type: 'string' } },
  state: { description: 'Fired alerts: unacknowledged, acknowledged, silenced, fired, update or resolved', schema: { type: 'string' } },
  rule_id: { description: 'Alert rule id', schema: { type: 'string' } },
  token: { description: 'API token, for clients that cannot send an Authorization header (EventSource, links); reads only', schema: { type: 'string' } },
};

const ROUTE_DOCS: Record<RouteName, { path: string; summary: string; response: string; sse?: boolean }> = {
  logs: { path: '/api/logs', summary: 'Search logs, newest first, with keyset pagination', response: '{ rows, next_cursor }' },
  'logs/count': { path: '/api/logs/count', summary: 'Count the logs matching the filters', response: '{ count }' },
  'logs/export': { path: '/api/logs/export', summary: 'Every matching row, streamed as NDJSON or CSV', response: 'a download' },
  'logs/tail': { path: '/api/logs/tail', summary: 'New matching rows as Server-Sent Events (event: log)', response: 'text/event-stream', sse: true },
  'logs/:id': { path: '/api/logs/{id}', summary: 'One row, raw frame included', response: 'the row' },
  stats: { path: '/api/stats', summary: 'Counts per severity per interval, top tags, top MACs', response: '{ buckets, top_tags, top_macs, … }' },
  tags: { path: '/api/tags', summary: 'Known tags with counts', response: '{ tags: [{ tag, count }] }' },
  devices: { path: '/api/devices', summary: 'Every handset: last seen, IP, tag, battery, errors in 24 h', response: '{ devices, total }' },
  'devices/:mac': { path: '/api/devices/{mac}', summary: 'One handset', response: 'the device summary' },
  'devices/:mac/battery': { path: '/api/devices/{mac}/battery', summary: 'Battery level, voltage, temperature, status over time (≤ 1,000 points)', response: '{ points, interval_ms, … }' },
  'alerts/rules': { path: '/api/alerts/rules', summary: 'Alert rules (POST creates; POST /api/alerts/rules/test replays a rule over the last 24 h)', response: '{ rules }' },
  'alerts/rules/:id': { path: '/api/alerts/rules/{id}', summary: 'One alert rule (PUT merges, DELETE removes)', response: 'the rule' },
  'alerts/channels': { path: '/api/alerts/channels', summary: 'Notification channels with their delivery status (POST creates)', response: '{ channels }' },
  'alerts/channels/:id': { path: '/api/alerts/channels/{id}', summary: 'One channel (PUT merges, DELETE removes, POST …/test sends a test)', response: 'the channel' },
  'alerts/silences': { path: '/api/alerts/silences', summary: 'Silences by rule, MAC and/or tag until an end time (POST creates)', response: '{ silences }' },
  'alerts/silences/:id': { path: '/api/alerts/silences/{id}', summary: 'One silence (PUT merges, DELETE removes)', response: 'the silence' },
  'alerts/events': { path: '/api/alerts/events', summary: 'Fired alerts, newest first (POST …/{id}/ack acknowledges the incident)', response: '{ events }' },
  'alerts/summary': { path: '/api/alerts/summary', summary: 'Unacknowledged incidents (the header badge), open groups, active silences', response: '{ unacknowledged, open_groups, active_silences }' },
  sessions: { path: '/api/sessions', summary: 'Imported capture sessions, newest first', response: '{ sessions }' },
  whoami: { path: '/api/whoami', summary: "The caller's role (admin or viewer) and token name; without configured tokens, admin", response: '{ role, name, auth }' },
  'sessions/:id': { path: '/api/sessions/{id}', summary: 'One session (by id or name) with its handsets, import progress and the uploads to it since the service started', response: 'the session with handsets and uploads' },
};

const ERROR = {
  description: 'Error',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
      },
    },
  },
};

/** POST/PUT/DELETE of the alert rules, channels and silences, and the alert actions (JSON bodies). */
function alertWriteOps(): Record<string, Record<string, Schema>> {
  const op = (id: string, summary: string, response: string, pathId = false): Schema => ({
    summary,
    operationId: id,
    ...(pathId ? { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] } : {}),
    requestBody: { content: { 'application/json': {} } },
    responses: { '200': { description: response }, '400': ERROR, '403': ERROR, '404': ERROR },
  });
  const ops: Record<string, Record<string, Schema>> = {};
  for (const name of ['rules', 'channels', 'silences']) {
    ops[`/api/alerts/${name}`] = { post: op(`alerts_${name}_create`, `Create (201 with the stored item)`, 'the item') };
    ops[`/api/alerts/${name}/{id}`] = {
      put: op(`alerts_${name}_update`, 'Merge the body over the stored item', 'the item', true),
      delete: op(`alerts_${name}_delete`, 'Delete', '{ deleted }', true),
    };
  }
  // A channel a rule names is not deleted (409 naming the rules).
  const chDelete = ops['/api/alerts/channels/{id}']?.['delete'];
  if (chDelete !== undefined) {
    chDelete['summary'] = 'Delete (409 naming the rules while a rule still names the channel)';
    chDelete['responses'] = { ...(chDelete['responses'] as Schema), '409': ERROR };
  }
  ops['/api/alerts/rules/test'] = { post: op('alerts_rules_test', 'What the rule in the body would have fired over the last 24 h', '{ filter_count, matched, notifications, samples, … }') };
  ops['/api/alerts/channels/{id}/test'] = { post: op('alerts_channels_test', 'Send a test notification', '{ ok, error, attempts, ms }', true) };
  ops['/api/alerts/events/{id}/ack'] = { post: op('alerts_events_ack', "Acknowledge the event's incident", '{ id, incident_id, acknowledged }', true) };
  return ops;
}

/** Operations other than GET, by path (admin role). */
const WRITE_OPS: Record<string, Record<string, Schema>> = {
  ...alertWriteOps(),
  '/api/sessions': {
    post: {
      summary: 'Upload a capture (syslog.txt.N, syslog-server file, logcat, pcap/pcapng, .gz) as the raw request body; imported in the background (poll the session)',
      operationId: 'sessions_upload',
      parameters: UPLOAD_PARAMS.map((name) => ({ name, in: 'query', required: false, description: PARAM_DOCS[name]?.description, schema: PARAM_DOCS[name]?.schema })),
      requestBody: { content: { 'application/octet-stream': {} } },
      responses: {
        '202': { description: '{ session, upload }: upload is { id, filename, state, file, error }, followed in the uploads of GET /api/sessions/{id}' },
        '400': ERROR,
        '403': ERROR,
        '409': ERROR,
        '413': ERROR,
      },
    },
  },
  '/api/sessions/{id}': {
    delete: {
      summary: 'Delete a session and its rows',
      operationId: 'sessions_delete',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
      responses: { '200': { description: '{ deleted }' }, '403': ERROR, '404': ERROR, '409': ERROR },
    },
  },
};

export function openApiDocument(version: string): Schema {
  const paths: Record<string, Schema> = {};
  for (const [route, doc] of Object.entries(ROUTE_DOCS) as [RouteName, (typeof ROUTE_DOCS)[RouteName]][]) {
    const pathParams = [...doc.path.matchAll(/\{(\w+)\}/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
      description: m[1] === 'mac' ? 'Handset MAC in any notation' : route.startsWith('sessions') ? 'Session id or name' : route.startsWith('alerts/') ? 'Rule, channel or silence id' : 'Log id (UUID)',
    }));
    const queryParams = [...ROUTE_PARAMS[route], 'token'].map((name) => {
      const d = PARAM_DOCS[name];
      if (d === undefined) throw new Error(`parameter ${name} of ${route} has no documentation`);
      return { name, in: 'query', required: false, description: d.description, schema: d.schema };
    });
    paths[doc.path] = {
      get: {
        summary: doc.summary,
        operationId: route.replace(/[/:]+/g, '_'),
        parameters: [...pathParams, ...queryParams],
        responses: {
          '200': { description: doc.response, content: { [doc.sse === true ? 'text/event-stream' : 'application/json']: {} } },
          '400': ERROR,
          '401': ERROR,
          '404': ERROR,
        },
        security: [{ bearer: [] }, {}],
      },
      ...WRITE_OPS[doc.path],
    };
  }
  for (const [p, ops] of Object.entries(WRITE_OPS)) paths[p] ??= ops; // paths without a GET
  paths['/healthz'] = { get: { summary: 'Store reachable, WAL depth, listeners (503 when degraded)', responses: { '200': { description: 'ok' }, '503': { description: 'degraded' } } } };
  paths['/metrics'] = { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text/plain; version=0.0.4' } } } };
  return {
    openapi: '3.1.0',
    info: { title: 'handlog API', version, description: 'Syslog of Spectralink PIVOT handsets and other senders, searchable by MAC, tag, severity, text and time.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths,
  };
}
