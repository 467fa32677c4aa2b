// The `handlog` command: serve | parse | import | replay.

import { HandlogError } from '../core/errors.js';
import { UsageError } from './args.js';
import { runParse } from './parse.js';

const HELP = `Usage: handlog <command> [options]

Commands:
  serve     run the syslog listeners, the ingest pipeline into ClickHouse and the query API
  parse     parse syslog lines from files or stdin and print JSON records
  import    import captured logs (syslog.txt.N, syslog-server files, logcat, pcap/pcapng, .gz)
            into the store as a named session
  replay    re-send captured messages to a syslog server with their original timing

Run \`handlog <command> --help\` for the options of a command.
`;

type Command = (argv: string[]) => Promise<number>;

async function loadServe(): Promise<Command> {
  const mod = (await import('./serve.js')) as { runServe: Command };
  return mod.runServe;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  parse: async () => (argv) => runParse(argv, { stdin: process.stdin, stdout: process.stdout, nowMs: Date.now() }),
  serve: loadServe,
  import: async () => ((await import('./import.js')) as { runImport: Command }).runImport,
  replay: async () => ((await import('./replay.js')) as { runReplay: Command }).runReplay,
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') {
    // Without a command it is a usage error: the usage goes to stderr, as every other usage error's.
    (cmd === undefined ? process.stderr : process.stdout).write(HELP);
    return cmd === undefined ? 2 : 0;
  }
  const load = COMMANDS[cmd];
  if (load === undefined) throw new UsageError(`unknown command "${cmd}"\n\n${HELP}`);
  // SIGHUP's default action kills the process: ignored while serve's modules load (serve then
  // handles it: TLS certificate reload).
  if (cmd === 'serve') process.on('SIGHUP', () => undefined);
  // `handlog parse … | head -1`: a reader that closed the pipe wants no more output; end quietly
  // instead of dying on an unhandled EPIPE with a stack (serve writes its logs to stderr).
  if (cmd !== 'serve') {
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof HandlogError && (e.code === 'BAD_ARGUMENT' || e.code === 'CONFIG_INVALID')) {
      process.stderr.write(`handlog: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    // A port in use (or an address that cannot be bound): a start-up problem of the configuration,
    // not a bug; `handlog serve` stopped what it had started and released the data directory.
    if (e instanceof HandlogError && e.code === 'LISTEN_FAILED') {
      process.stderr.write(`handlog: ${e.code}: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    // An operational failure (a service or store that cannot be reached, a WAL that cannot be
    // written): one line for the operator; a stack only for what is a bug.
    if (e instanceof HandlogError && e.code !== 'INTERNAL') {
      process.stderr.write(`handlog: ${e.code}: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`handlog: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
