// A one-line progress display on stderr for long commands (import, replay): redrawn in place at most
// ten times a second on a terminal; on a pipe or file, a plain line every few seconds instead.

export interface Progress {
  update(line: string): void;
  /** Clears the line (terminal) so the summary starts on a clean one. */
  done(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  const interval = tty ? 100 : 5000;
  // On a pipe, short commands print nothing: the first line comes after one interval.
  let last = tty ? 0 : Date.now();
  let shown = false;
  // A terminal that reports no size (0 columns under `script`, some container consoles): assume 100.
  const columns = (): number => (stream.columns !== undefined && stream.columns > 0 ? stream.columns : 100);
  return {
    update(line) {
      const t = Date.now();
      if (t - last < interval) return;
      last = t;
      if (tty) {
        const width = Math.max(20, columns() - 1);
        stream.write(`\r${line.slice(0, width).padEnd(width)}`);
        shown = true;
      } else stream.write(`${line}\n`);
    },
    done() {
      if (tty && shown) stream.write(`\r${' '.repeat(Math.max(20, columns() - 1))}\r`);
      shown = false;
    },
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}
