import { describe, expect, test } from 'vitest';
import { MAX_TEXT_TERMS, textTerms } from './text-query.js';

describe('textTerms', () => {
  test.each<[string, string[]]>([
    ['connected', ['connected']],
    ['registration failed', ['registration', 'failed']],
    ['"registration failed"', ['registration failed']],
    ['  "call  setup" 486 ', ['call  setup', '486']],
    ['sip"timeout now"', ['sip', 'timeout now']],
    ['"open quote runs to the end', ['open quote runs to the end']],
    ['""  " "', []],
    ['   ', []],
    ['Failed failed FAILED', ['Failed']],
    ['50% c:\\temp a_b *', ['50%', 'c:\\temp', 'a_b', '*']],
    ['first\nsecond\tthird', ['first', 'second', 'third']],
    ['"a\nb"', ['a\nb']],
  ])('%j → %j', (q, want) => {
    expect(textTerms(q)).toEqual(want);
  });

  test('the limit is a number of terms', () => {
    expect(MAX_TEXT_TERMS).toBeGreaterThanOrEqual(8);
  });
});
