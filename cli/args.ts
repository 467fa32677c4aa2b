// Shared argument helpers: every command fails the same way on bad input (message + exit 2).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { HandlogError } from '../core/errors.js';

export class UsageError extends HandlogError {
  constructor(message: string) {
    super('BAD_ARGUMENT', message);
    this.name = 'UsageError';
  }
}

export function parseCommandArgs<T extends ParseArgsConfig['options']>(
  argv: string[],
  options: T,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: values as Record<string, string | boolean | string[] | undefined>, positionals };
  } catch (e: unknown) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}
