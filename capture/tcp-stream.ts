// TCP stream reassembly for captured syslog connections: per flow, segments are put back in sequence
// order (out-of-order segments wait, retransmissions and overlaps are trimmed), and the byte stream
// goes through the same RFC 6587 framer as the live TCP listener (octet counting or LF, detected per
// frame). Bounded: a flow holds at most MAX_PENDING_BYTES of out-of-order data; beyond that, or at the
// end of the capture, the missing bytes are declared a gap and framing restarts after it.

import { AutoFramer } from '../ingest/framing/detect.js';
import type { TcpSegment } from './packet.js';

export interface StreamMessage {
  data: Buffer;
  tsMs: number | null;
  src: string;
  truncated: boolean;
}

const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** `<PRI>` after an octet count of up to 9 digits fits in 16 bytes. */
const DECIDE_BYTES = 16;

interface Flow {
  key: string;
  src: string;
  /** Sequence number of the next byte expected; null until the first SYN or data segment. */
  next: number | null;
  pending: Map<number, Buffer>;
  pendingBytes: number;
  framer: AutoFramer;
  /** The flow carries syslog (decided on its first 16 bytes); null while undecided. */
  syslog: boolean | null;
  /** Bytes held until there are enough to decide. */
  head: Buffer[];
  tsMs: number | null;
}

/** Whether the first bytes of a stream look like syslog: `<PRI>` or an octet count before it. */
export function looksLikeSyslog(head: Buffer): boolean {
  return /^(?:[1-9]\d{0,8} )?<\d{1,3}>/.test(head.subarray(0, 16).toString('latin1'));
}

const seqDiff = (a: number, b: number): number => ((a - b) | 0);

export class TcpReassembler {
  gaps = 0;
  flows = 0;
  ignoredFlows = 0;
  private readonly open = new Map<string, Flow>();

  constructor(
    private readonly onMessage: (m: StreamMessage) => void,
    private readonly maxFrameBytes: number,
  ) {}

  push(seg: TcpSegment, tsMs: number | null): void {
    const key = `${seg.src}|${seg.sport}|${seg.dst}|${seg.dport}`;
    let flow = this.open.get(key);
    if (flow === undefined || (seg.syn && flow.next !== null && seg.payload.length === 0 && seqDiff(seg.seq + 1, flow.next) !== 0)) {
      if (flow !== undefined) this.close(flow);
      flow = this.newFlow(key, seg.src);
      this.open.set(key, flow);
    }
    flow.tsMs = tsMs;
    if (seg.syn) flow.next ??= (seg.seq + 1) >>> 0;
    if (seg.payload.length > 0) {
      flow.next ??= seg.seq;
      this.accept(flow, seg.seq, seg.payload);
    }
    if (seg.fin || seg.rst) {
      this.close(flow);
      this.open.delete(key);
    }
  }

  /** End of capture: whatever is pending is delivered with gaps, partial frames flushed. */
  end(): void {
    for (const flow of this.open.values()) this.close(flow);
    this.open.clear();
  }

  private newFlow(key: string, src: string): Flow {
    this.flows++;
    const flow: Flow = {
      key,
      src,
      next: null,
      pending: new Map(),
      pendingBytes: 0,
      syslog: null,
      head: [],
      tsMs: null,
      framer: new AutoFramer(
        (data, info) => {
          this.onMessage({ data: Buffer.from(data), tsMs: flow.tsMs, src: flow.src, truncated: info.truncated });
        },
        { maxFrameBytes: this.maxFrameBytes },
      ),
    };
    return flow;
  }

  private accept(flow: Flow, seq: number, payload: Buffer): void {
    const next = flow.next as number;
    const d = seqDiff(seq, next);
    if (d < 0) {
      // Retransmission or overlap: keep only the new tail.
      if (-d >= payload.length) return;
      payload = payload.subarray(-d);
      seq = next;
    } else if (d > 0) {
      const had = flow.pending.get(seq);
      if (had === undefined || had.length < payload.length) {
        flow.pending.set(seq, Buffer.from(payload));
        flow.pendingBytes += payload.length - (had?.length ?? 0);
      }
      if (flow.pendingBytes > MAX_PENDING_BYTES) this.skipGap(flow);
      return;
    }
    this.deliver(flow, payload);
    this.drainPending(flow);
  }

  private deliver(flow: Flow, bytes: Buffer): void {
    flow.next = ((flow.next as number) + bytes.length) >>> 0;
    if (flow.syslog === null) {
      flow.head.push(Buffer.from(bytes));
      if (flow.head.reduce((n, b) => n + b.length, 0) >= DECIDE_BYTES) this.decide(flow);
      return;
    }
    if (flow.syslog) flow.framer.push(bytes);
  }

  private decide(flow: Flow): void {
    const head = Buffer.concat(flow.head);
    flow.head = [];
    flow.syslog = looksLikeSyslog(head);
    if (!flow.syslog) this.ignoredFlows++;
    else flow.framer.push(head);
  }

  private drainPending(flow: Flow): void {
    for (;;) {
      let progressed = false;
      for (const [seq, buf] of flow.pending) {
        const d = seqDiff(seq, flow.next as number);
        if (d > 0) continue;
        flow.pending.delete(seq);
        flow.pendingBytes -= buf.length;
        if (-d < buf.length) this.deliver(flow, buf.subarray(-d));
        progressed = true;
      }
      if (!progressed) return;
    }
  }

  /** Jump over missing bytes to the earliest pending segment; the partial frame before it is lost. */
  private skipGap(flow: Flow): void {
    let earliest: number | null = null;
    for (const seq of flow.pending.keys()) {
      if (earliest === null || seqDiff(seq, earliest) < 0) earliest = seq;
    }
    if (earliest === null) return;
    this.gaps++;
    flow.framer.discard();
    flow.next = earliest;
    this.drainPending(flow);
  }

  private close(flow: Flow): void {
    while (flow.pending.size > 0) this.skipGap(flow);
    if (flow.syslog === null && flow.head.length > 0) this.decide(flow);
    if (flow.syslog === true) flow.framer.end();
  }
}
