// Times of the lines of imported files, shared by `handlog import` and `handlog replay FILE…` so the
// two agree on them: the order of the handset's rotated files, the year of year-less times (a file
// holds nothing from after it was written), and the time of a line that has none of its own.

import fs from 'node:fs';
import type { LogRecord, ParseContext } from '../core/record.js';
import { parseLine } from '../parsers/detect.js';
import { isGzipHead } from './reader.js';

/** A file to read; `name` is the name shown (an upload's original name), else the path is used. */
export interface NamedFile {
  path: string;
  name?: string;
}

/**
 * The year anchor of a file's text lines: `anchorMs` (`--now`) when given, else the file's
 * modification time. Whole milliseconds (what an ISO-8601 time carries): `handlog import` sends it
 * to a running service as `now`, and the service's import of the upload then anchors exactly as an
 * import straight into the data directory does.
 */
export async function yearAnchorMs(file: string, anchorMs?: number): Promise<number> {
  return Math.round(anchorMs ?? (await fs.promises.stat(file).then((s) => s.mtimeMs)));
}

/**
 * The parse context of a text file's lines: year-less times are taken in the year that puts them
 * no more than a day after `anchorMs` (`--now`, else the file's modification time).
 */
export function fileParseContext(anchorMs: number, tz: string): ParseContext {
  return { receivedAtMs: anchorMs, tz, yearRule: 'past' };
}

/** The time a line carries itself (device time, else syslog header time), as ISO-8601, or null. */
export function ownTime(rec: LogRecord): string | null {
  return rec.device_time ?? rec.syslog_time;
}

/**
 * The handset's rotated files (syslog.txt.1 … .5) in the order they were written: by the first
 * time stamp in each, else the highest number first (the oldest). Any other set of files keeps
 * the order given. `anchorMs` is the year anchor (`--now`), else each file's modification time.
 */
export async function orderFiles<F extends NamedFile>(files: F[], tz: string, anchorMs?: number): Promise<F[]> {
  const firstTime = async (f: F): Promise<number> => {
    try {
      const fd = await fs.promises.open(f.path, 'r');
      const buf = Buffer.alloc(16_384);
      const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
      await fd.close();
      if (isGzipHead(buf.subarray(0, bytesRead))) return Infinity;
      const ctx = fileParseContext(await yearAnchorMs(f.path, anchorMs), tz);
      for (const line of buf.subarray(0, bytesRead).toString('utf8').split('\n').slice(0, 50)) {
        const t = ownTime(parseLine(line, ctx));
        if (t !== null) return Date.parse(t);
      }
    } catch {
      // unreadable here: the reader reports it
    }
    return Infinity;
  };
  const rotated = files.every((f) => /syslog\.txt(\.\d+)?$/i.test(f.name ?? f.path));
  if (!rotated || files.length < 2) return files;
  const keyed = await Promise.all(files.map(async (f) => ({ f, t: await firstTime(f) })));
  // Unknown times keep rotation order: the highest number is the oldest file.
  const num = (f: F) => Number(/\.(\d+)$/.exec(f.name ?? f.path)?.[1] ?? 0);
  keyed.sort((a, b) => (a.t !== b.t ? (a.t < b.t ? -1 : 1) : num(b.f) - num(a.f)));
  return keyed.map((k) => k.f);
}

/** Lines without a time of their own held back at the start of a file, waiting for its first time. */
export const MAX_UNTIMED_LEAD = 5000;

/**
 * Gives each line of one text file its time, in file order: its own time if it has one, else that
 * of the nearest timed line before it (a logcat header, a brief-form logcat line, a line no parser
 * understands sits among its neighbours, not at the import time). Lines before the first timed
 * line wait for it (up to `maxLead` of them; beyond that, and when the file has no time at all,
 * they get `anchor`). Generic in the time's form: ISO strings for import, epoch ms for replay.
 */
export class LineTimes<Item, Time> {
  private last: Time | null = null;
  private pending: Item[] = [];

  constructor(
    private readonly anchor: Time,
    /** Called once per line, in file order; `own` says whether the time is the line's own. */
    private readonly emit: (item: Item, time: Time, own: boolean) => void,
    private readonly maxLead = MAX_UNTIMED_LEAD,
  ) {}

  push(item: Item, own: Time | null): void {
    if (own !== null) {
      if (this.pending.length > 0) this.release(own);
      this.last = own;
      this.emit(item, own, true);
    } else if (this.last !== null) this.emit(item, this.last, false);
    else {
      this.pending.push(item);
      if (this.pending.length >= this.maxLead) {
        // Too many to hold: these and the untimed lines up to the first timed one get the anchor.
        this.release(this.anchor);
        this.last = this.anchor;
      }
    }
  }

  /** The end of the file: lines still waiting (a file without any time) get the anchor. */
  end(): void {
    if (this.pending.length > 0) this.release(this.anchor);
  }

  private release(time: Time): void {
    const held = this.pending;
    this.pending = [];
    for (const item of held) this.emit(item, time, false);
  }
}
