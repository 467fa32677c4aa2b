// On a small machine the embedded ClickHouse engine's threads (inserts, merges) compete with the
// event loop for CPU. TCP/TLS senders just slow down when the loop falls behind, but UDP datagrams
// overflow the socket buffer and are lost. Lowering the priority of the engine's threads (Linux:
// setpriority on a thread id) lets the loop drain sockets first; the engine still gets all the CPU
// the loop leaves idle.
//
// Only the engine's threads: those it named (ThreadPool, MergeMutate, BgSchPool…). Node's own
// threads keep the main thread's name and its priority — V8's garbage-collection and compiler
// helpers, libuv's pool (the WAL's file writes), worker threads. Niced, they made a priority
// inversion: a garbage collection waits for the helper tasks it handed out, and a helper at nice 19
// on a busy machine waits for a CPU. The UDP receiver thread's pauses reached 100 – 234 ms (in a
// profile), long enough for the kernel to drop datagrams at 60,000/s, and the alert rules' extra
// work made it happen in most runs.

import fs from 'node:fs';
import os from 'node:os';

/** Threads that must keep normal priority (the UDP receiver: it drains a socket like the loop). */
const exempt = new Set<number>();

export function exemptThread(tid: number): () => void {
  exempt.add(tid);
  return () => exempt.delete(tid);
}

/** A thread's name (its `comm`), or null when it cannot be read (exited, not Linux). */
function threadName(tid: number): string | null {
  try {
    return fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Lowers the priority of the engine's threads (named otherwise than the main thread); returns how many changed. */
export function deprioritizeWorkerThreads(niceness = 19): number {
  let changed = 0;
  let tids: string[];
  try {
    tids = fs.readdirSync('/proc/self/task');
  } catch {
    return 0; // not Linux
  }
  const nodeName = threadName(process.pid);
  if (nodeName === null) return 0;
  for (const t of tids) {
    const tid = Number(t);
    if (tid === process.pid || exempt.has(tid)) continue;
    const name = threadName(tid);
    // Node's threads are created with the main thread's name and keep it.
    if (name === null || name === nodeName) continue;
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
