// `npm run bench:alerts`: the alert evaluator alone (one core): the ingest bench's corpus parsed up front,
// then evaluated against its 20 rules (HANDLOG_BENCH_RULES-style: R=19 extra rules beside the default
// one) with a tick per 12,500 rows (every 100 ms at 125,000 rows/s); prints µs per row for three passes.
import { parseLine } from '../../parsers/detect.js';
import { sequentialIds } from '../../core/ids.js';
import { Evaluator } from '../../alerts/evaluator.js';
import { validateRule, defaultRule } from '../../alerts/rules.js';
import { benchRules } from '../ingest/alert-rules.js';
import { handsetLine, rng } from '../corpus.js';
import type { StoredRecord } from '../../core/record.js';

const N = 1_000_000;
const r = rng(100);
const t0 = Date.now();
const nextId = sequentialIds();
const rows: StoredRecord[] = [];
for (let i = 0; i < N; i++) {
  const rec = parseLine(handsetLine(r, 5000, t0 + i).line, { receivedAtMs: t0 + i, tz: 'UTC' }) as StoredRecord;
  rec.id = nextId();
  rows.push(rec);
}
const iso = new Date().toISOString();
const rules = [defaultRule(iso), ...benchRules(Number(process.env.R ?? 19)).map((b) => validateRule(b, iso))];
let notices = 0;
const ev = new Evaluator(rules, () => notices++);
for (let pass = 0; pass < 3; pass++) {
  const s = performance.now();
  let now = Date.now();
  for (let i = 0; i < N; i++) {
    // The service ticks every 100 ms: at 125,000 rows/s, once per 12,500 rows.
    if (i % 12_500 === 0) { now = Date.now(); ev.tick(now); }
    ev.process(rows[i]!, now);
  }
  const ms = performance.now() - s;
  console.log(`pass ${pass}: ${(ms * 1000 / N).toFixed(3)} µs/row, notices ${notices}`);
}
