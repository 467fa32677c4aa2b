// Placeholder until the ingest issue lands: `handlog serve` is wired in by that work.
export async function runServe(): Promise<number> {
  process.stderr.write('handlog serve: not built yet\n');
  return 1;
}
