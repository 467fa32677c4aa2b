// Connection budget for stream listeners: a total and a per-source-IP maximum. Checked when a TCP
// connection is accepted, before any TLS handshake work, so a flood costs an accept and a close.

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
}

export const DEFAULT_MAX_CONNECTIONS = 10_000;
export const DEFAULT_MAX_CONNECTIONS_PER_IP = 64;

export type Admission = 'ok' | 'conn_limit_total' | 'conn_limit_per_ip';

export class ConnectionLimiter {
  private readonly perIp = new Map<string, number>();
  private open = 0;

  constructor(readonly limits: ConnectionLimits) {}

  get total(): number {
    return this.open;
  }

  countFor(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  tryAcquire(ip: string): Admission {
    if (this.open >= this.limits.maxConnections) return 'conn_limit_total';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.limits.maxConnectionsPerIp) return 'conn_limit_per_ip';
    this.perIp.set(ip, n + 1);
    this.open += 1;
    return 'ok';
  }

  release(ip: string): void {
    const n = this.perIp.get(ip) ?? 0;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    if (n > 0) this.open -= 1;
  }
}
