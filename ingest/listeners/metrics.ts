// Listener metric families. Several listeners share one Registry, and a Registry renders every family
// it was given, so each family is created once per registry. Labels come from fixed lists only
// (transport, drop reason): never peer addresses.

import type { Counter, DropReason, Gauge, Registry } from '../../core/metrics.js';
import type { ListenerTransport } from './types.js';

/** Something whose kernel drop counter can be read (a bound UDP socket). */
export interface KernelDropSource {
  /** Current cumulative drops, or undefined when they cannot be read (no /proc, socket gone). */
  read(): number | undefined;
}

export interface ListenerMetrics {
  frames: Counter;
  bytes: Counter;
  connections: Gauge;
  connectionsTotal: Counter;
  dropped: Counter;
  udpKernelDrops: Gauge;
  drop(reason: DropReason, by?: number): void;
  received(transport: ListenerTransport, bytes: number): void;
  /** Registers a UDP socket whose kernel drops feed `handlog_udp_kernel_drops` and dropped{udp_kernel}. */
  addKernelDropSource(source: KernelDropSource): { refresh(): void; remove(): void };
  /** Reads every kernel drop source now (also done just before each render). */
  refreshKernelDrops(): void;
}

const byRegistry = new WeakMap<Registry, ListenerMetrics>();

export function listenerMetrics(registry: Registry, dropped?: Counter): ListenerMetrics {
  const existing = byRegistry.get(registry);
  if (existing !== undefined) return existing;

  const frames = registry.counter('handlog_frames_received_total', 'Syslog frames received, by transport.');
  const bytes = registry.counter('handlog_bytes_received_total', 'Bytes received on listener sockets, by transport.');
  const connections = registry.gauge('handlog_connections', 'Open TCP/TLS connections, by transport.');
  const connectionsTotal = registry.counter('handlog_connections_total', 'TCP/TLS connections accepted, by transport.');
  const droppedCounter =
    dropped ?? registry.counter('handlog_dropped_total', 'Messages, connections or rows dropped, by reason.');
  const udpKernelDrops = registry.gauge(
    'handlog_udp_kernel_drops',
    'Datagrams the kernel dropped on the UDP listener sockets (receive buffer full), from /proc/net/udp{,6}.',
  );

  interface Tracked {
    source: KernelDropSource;
    last: number;
  }
  const sources = new Set<Tracked>();
  const refreshOne = (t: Tracked): void => {
    const now = t.source.read();
    if (now === undefined) return;
    // A smaller value means another socket took the port: count from zero again.
    const delta = now >= t.last ? now - t.last : now;
    if (delta > 0) droppedCounter.inc({ reason: 'udp_kernel' }, delta);
    t.last = now;
  };
  const refreshKernelDrops = (): void => {
    let sum = 0;
    for (const t of sources) {
      refreshOne(t);
      sum += t.last;
    }
    udpKernelDrops.set(sum);
  };
  udpKernelDrops.collect(refreshKernelDrops);

  const m: ListenerMetrics = {
    frames,
    bytes,
    connections,
    connectionsTotal,
    dropped: droppedCounter,
    udpKernelDrops,
    drop: (reason, by = 1) => droppedCounter.inc({ reason }, by),
    received: (transport, n) => bytes.inc({ transport }, n),
    addKernelDropSource(source) {
      // Drops from before the listener started are not ours to count.
      const t: Tracked = { source, last: source.read() ?? 0 };
      sources.add(t);
      return {
        refresh: () => refreshOne(t),
        remove: () => {
          refreshOne(t);
          sources.delete(t);
        },
      };
    },
    refreshKernelDrops,
  };
  byRegistry.set(registry, m);
  return m;
}
