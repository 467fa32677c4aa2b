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
  const file = path.join(dataDir, CONFIG_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600); // SMTP passwords live here
  try {
    fs.writeFileSync(fd, JSON.stringify(cfg, null, 2) + '\n');
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}
