// Time buckets for charts: a step chosen from the range so a series has at most a given number of
// points, on steps people read easily (5 min, 1 h, 1 d), aligned to the epoch like the SQL buckets.

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
const NICE_STEPS_MS = [S, 2 * S, 5 * S, 10 * S, 15 * S, 30 * S, M, 2 * M, 5 * M, 10 * M, 15 * M, 30 * M, H, 2 * H, 3 * H, 6 * H, 12 * H, D, 2 * D, 7 * D, 14 * D, 30 * D];

/** The smallest nice step giving at most maxBuckets buckets over rangeMs. */
export function autoStepMs(rangeMs: number, maxBuckets: number): number {
  const min = Math.ceil(Math.max(rangeMs, 1) / Math.max(maxBuckets, 1));
  for (const s of NICE_STEPS_MS) if (s >= min) return s;
  return Math.ceil(min / (30 * D)) * 30 * D;
}

/** Start of the bucket holding ms (buckets are multiples of stepMs since the epoch). */
export function bucketStart(ms: number, stepMs: number): number {
  return Math.floor(ms / stepMs) * stepMs;
}

/** Number of buckets covering [fromMs, toMs). */
export function bucketCount(fromMs: number, toMs: number, stepMs: number): number {
  if (toMs <= fromMs) return 0;
  return Math.ceil((toMs - bucketStart(fromMs, stepMs)) / stepMs);
}
