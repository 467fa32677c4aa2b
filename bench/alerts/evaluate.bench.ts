// `npm run bench:alerts`: the alert evaluator alone (one core): the ingest bench's corpus parsed up front,
// then evaluated against its 20 rules (HANDLOG_BENCH_RULES-style: R=19 extra rules beside the default
// one) with a tick per 12,500 rows (every 100 ms at 125,000 rows/s); prints µs per row for three passes.
// POLLUTE=N touches N scattered cache lines of a 32 MiB buffer before each row, as the service's
// other work per row (parsing, encoding, the engine's threads) does: the evaluator's maps and
// windows then miss the CPU caches as in the service, which a bare loop hides (POLLUTE=200 turned
// 0.77 µs per row into ~2). The pollution's own time is measured alone and subtracted.
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
const POLLUTE = Number(process.env['POLLUTE'] ?? 0);
const junk = new Float64Array(POLLUTE > 0 ? 4 * 1024 * 1024 : 8);
let pos = 0;
let junkSum = 0;
function pollute(): void {
  for (let k = 0; k < POLLUTE; k++) {
    pos = (pos + 1031 * 8 + 17) & (junk.length - 1);
    junkSum += junk[pos]!;
    junk[pos] = k;
  }
}
for (let pass = 0; pass < 3; pass++) {
  let alone = 0;
  if (POLLUTE > 0) {
    const s0 = performance.now();
    for (let i = 0; i < N; i++) pollute();
    alone = performance.now() - s0;
  }
  const s = performance.now();
  let now = Date.now();
  for (let i = 0; i < N; i++) {
    // The service ticks every 100 ms: at 125,000 rows/s, once per 12,500 rows.
    if (i % 12_500 === 0) { now = Date.now(); ev.tick(now); }
    if (POLLUTE > 0) pollute();
    ev.process(rows[i]!, now);
  }
  const ms = performance.now() - s - alone;
  console.log(`pass ${pass}: ${(ms * 1000 / N).toFixed(3)} µs/row, notices ${notices}${POLLUTE > 0 ? ` (pollution alone ${((alone * 1000) / N).toFixed(2)} µs/row)` : ''}`);
}
if (junkSum < 0) console.log(junkSum);
