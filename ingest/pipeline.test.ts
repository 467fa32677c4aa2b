import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import { Registry } from '../core/metrics.js';
import type { StoredRecord } from '../core/record.js';
import { createPipeline, INCOMPLETE_NOTE } from './pipeline.js';
import type { Wal } from './wal.js';

describe('pipeline', () => {
  it('stores a frame the connection ended in the middle of with a parse_error saying so', () => {
    const lines: string[] = [];
    const wal = { append: (line: string) => (lines.push(line), true) } as unknown as Wal;
    const metrics = new Registry();
    const dropped = metrics.counter('handlog_dropped_total', 'drops');
    const p = createPipeline({ tz: 'UTC' }, { wal, metrics, logger: silentLogger, dropped });
    const rows: StoredRecord[] = [];
    p.subscribe((r) => rows.push(r));
    const frame = { sourceIp: '10.0.0.1', transport: 'tcp' as const, receivedAtMs: Date.UTC(2024, 2, 1), truncated: false };
    p.ingest({ ...frame, data: Buffer.from('<13>Mar  1 10:23:14 host app: whole') });
    p.ingest({ ...frame, data: Buffer.from('<13>Mar  1 10:23:14 host app: half of it'), incomplete: true });
    expect(lines).toHaveLength(2);
    expect(rows[0]?.parse_error ?? null).toBeNull();
    expect(rows[1]?.parse_error).toContain(INCOMPLETE_NOTE);
    expect(rows[1]?.raw).toBe('<13>Mar  1 10:23:14 host app: half of it');
  });
});
