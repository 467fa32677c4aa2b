// Rules, channels and silences in `<data>/alerts.json`: read once at start, rewritten whole on every
// change through a temporary file and a rename, so a crash leaves the old file or the new one,
// never half of one. A file that cannot be read is a start-up failure, not an empty rule set.

import fs from 'node:fs';
import path from 'node:path';
import { HandlogError, errorMessage } from '../core/errors.js';
import type { Channel } from './channels/types.js';
import { defaultRule, type AlertRule } from './rules.js';
import type { Silence } from './silences.js';

export interface AlertsConfig {
  version: 1;
  rules: AlertRule[];
  channels: Channel[];
  silences: Silence[];
}

export const CONFIG_FILE = 'alerts.json';

export function loadAlertsConfig(dataDir: string, nowIso: string): AlertsConfig {
  const file = path.join(dataDir, CONFIG_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, rules: [defaultRule(nowIso)], channels: [], silences: [] };
    throw new HandlogError('CONFIG_INVALID', `cannot read ${file}: ${errorMessage(e)}`, { cause: e });
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e: unknown) {
    throw new HandlogError('CONFIG_INVALID', `${file} is not valid JSON (${errorMessage(e)}); fix or remove it`, { cause: e });
  }
  const o = v as Partial<AlertsConfig> | null;
  if (o === null || typeof o !== 'object' || !Array.isArray(o.rules) || !Array.isArray(o.channels) || !Array.isArray(o.silences)) {
    throw new HandlogError('CONFIG_INVALID', `${file} lacks the rules, channels and silences lists; fix or remove it`);
  }
  return { version: 1, rules: o.rules, channels: o.channels, silences: o.silences };
}

export function saveAlertsConfig(dataDir: string, cfg: AlertsConfig): void {
  writeAtomically(path.join(dataDir, CONFIG_FILE), JSON.stringify(cfg, null, 2) + '\n');
}

/** Mode 0600: SMTP passwords live in the config, alert texts in the open groups. */
function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Alert groups open at a stop, in `<data>/alerts-open.json`: the next start takes them back (and
 * removes the file, so a crash later does not bring back groups resolved since), so an incident
 * open across a restart still gets its resolved notice.
 */
export const OPEN_GROUPS_FILE = 'alerts-open.json';

export function saveOpenGroups(dataDir: string, groups: readonly unknown[]): void {
  const file = path.join(dataDir, OPEN_GROUPS_FILE);
  if (groups.length === 0) fs.rmSync(file, { force: true });
  else writeAtomically(file, JSON.stringify({ version: 1, groups }) + '\n');
}

/** The groups saved at the last stop ([] when none); the file is removed. Unreadable: [] and a reason. */
export function takeOpenGroups(dataDir: string): { groups: unknown[]; problem: string | null } {
  const r = readList(path.join(dataDir, OPEN_GROUPS_FILE), 'groups', true);
  return { groups: r.list, problem: r.problem };
}

/**
 * Each channel's delivery status (last success, last error, failures since) at the last stop, in
 * `<data>/alerts-channels.json`, so the API and the UI still show a failing channel after a restart.
 */
export const CHANNEL_STATUS_FILE = 'alerts-channels.json';

export function saveChannelStatuses(dataDir: string, statuses: readonly { id: string }[]): void {
  writeAtomically(path.join(dataDir, CHANNEL_STATUS_FILE), JSON.stringify({ version: 1, channels: statuses }) + '\n');
}

/** The statuses saved at the last stop ([] when none). Unreadable: [] and a reason. */
export function loadChannelStatuses(dataDir: string): { channels: unknown[]; problem: string | null } {
  const r = readList(path.join(dataDir, CHANNEL_STATUS_FILE), 'channels', false);
  return { channels: r.list, problem: r.problem };
}

/** The list under `key` of a JSON file ([] when there is no file); `take`: the file is removed once read. */
function readList(file: string, key: string, take: boolean): { list: unknown[]; problem: string | null } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e: unknown) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { list: [], problem: null };
    return { list: [], problem: `cannot read ${file}: ${errorMessage(e)}` };
  }
  if (take) fs.rmSync(file, { force: true });
  try {
    const o = JSON.parse(text) as Record<string, unknown> | null;
    const list = o?.[key];
    return Array.isArray(list) ? { list, problem: null } : { list: [], problem: `${file} has no ${key} list` };
  } catch (e: unknown) {
    return { list: [], problem: `${file} is not valid JSON (${errorMessage(e)})` };
  }
}
