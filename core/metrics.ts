// A small Prometheus text-format registry. Label values come from fixed lists (reasons, transports),
// never from peer addresses or message content, so cardinality stays bounded.

type Labels = Readonly<Record<string, string>>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return '{' + keys.map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, '_')}"`).join(',') + '}';
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
}

export class Counter {
  private readonly values = new Map<string, number>();
  constructor(readonly family: Family) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  /** A child bound to fixed labels, for hot paths (no label key built per increment). */
  labels(labels: Labels): { inc(by?: number): void } {
    const k = labelKey(labels);
    if (!this.values.has(k)) this.values.set(k, 0);
    return { inc: (by = 1) => this.values.set(k, (this.values.get(k) ?? 0) + by) };
  }
  render(): string[] {
    return [...this.values].map(([k, v]) => `${this.family.name}${k} ${v}`);
  }
}

export class Gauge {
  private readonly values = new Map<string, number>();
  private collector: (() => void) | undefined;
  constructor(readonly family: Family) {}
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelKey(labels), value);
  }
  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  /** Called just before rendering, for values read from elsewhere (WAL size, kernel counters). */
  collect(fn: () => void): void {
    this.collector = fn;
  }
  render(): string[] {
    this.collector?.();
    return [...this.values].map(([k, v]) => `${this.family.name}${k} ${v}`);
  }
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;
  constructor(
    readonly family: Family,
    private readonly buckets: readonly number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] as number)) this.counts[i] = (this.counts[i] as number) + 1;
    }
  }
  render(): string[] {
    const lines = this.buckets.map((b, i) => `${this.family.name}_bucket{le="${b}"} ${this.counts[i]}`);
    lines.push(`${this.family.name}_bucket{le="+Inf"} ${this.count}`);
    lines.push(`${this.family.name}_sum ${this.sum}`);
    lines.push(`${this.family.name}_count ${this.count}`);
    return lines;
  }
}

export class Registry {
  private readonly metrics: (Counter | Gauge | Histogram)[] = [];
  counter(name: string, help: string): Counter {
    const m = new Counter({ name, help, type: 'counter' });
    this.metrics.push(m);
    return m;
  }
  gauge(name: string, help: string): Gauge {
    const m = new Gauge({ name, help, type: 'gauge' });
    this.metrics.push(m);
    return m;
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const m = new Histogram({ name, help, type: 'histogram' }, buckets);
    this.metrics.push(m);
    return m;
  }
  render(): string {
    const out: string[] = [];
    for (const m of this.metrics) {
      out.push(`# HELP ${m.family.name} ${m.family.help}`, `# TYPE ${m.family.name} ${m.family.type}`);
      out.push(...m.render());
    }
    return out.join('\n') + '\n';
  }
}

/** Why a message or connection was dropped: a fixed list, so it can be a metric label. */
export type DropReason =
  | 'udp_wal_full'
  | 'udp_kernel'
  | 'frame_oversize'
  | 'conn_limit_total'
  | 'conn_limit_per_ip'
  | 'idle_timeout'
  | 'tls_handshake'
  | 'dead_letter'
  | 'unstorable'
  | 'framing_invalid'
  | 'udp_backlog'
  | 'empty_datagram';
