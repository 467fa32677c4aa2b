#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by `npm ci` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/handlog.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('handlog: dist/ is missing; run `npm run build` in the handlog checkout first\n');
  process.exit(1);
}
await import(entry.href);
