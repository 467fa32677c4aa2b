// On a small machine the embedded ClickHouse engine's threads (inserts, merges) compete with the
// event loop for CPU. TCP/TLS senders just slow down when the loop falls behind, but UDP datagrams
// overflow the socket buffer and are lost. Lowering the priority of every thread but the main one
// (Linux: setpriority on a thread id) lets the loop drain sockets first; the engine still gets all
// the CPU the loop leaves idle.

import fs from 'node:fs';
import os from 'node:os';

/** Threads that must keep normal priority (the UDP receiver: it drains a socket like the loop). */
const exempt = new Set<number>();

export function exemptThread(tid: number): () => void {
  exempt.add(tid);
  return () => exempt.delete(tid);
}

export function deprioritizeWorkerThreads(niceness = 19): number {
  let changed = 0;
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return 0; // not Linux
  }
  for (const t of tids) {
    const tid = Number(t);
    if (tid === process.pid || exempt.has(tid)) continue;
    try {
      if (os.getPriority(tid) < niceness) {
        os.setPriority(tid, niceness);
        changed++;
      }
    } catch {
      // the thread exited meanwhile
    }
  }
  return changed;
}

/** Re-applies every few seconds: the engine starts threads on demand. Returns a stop function. */
export function keepWorkerThreadsDeprioritized(intervalMs = 1000, niceness = 19): () => void {
  deprioritizeWorkerThreads(niceness);
  const timer = setInterval(() => deprioritizeWorkerThreads(niceness), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
