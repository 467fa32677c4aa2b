// The text search language of `q` (the API's logs filters, live tail, alert rules): words and
// "quoted phrases". Every term must occur in the message, case-insensitively, anywhere — a word may
// be part of a longer word (`conn` finds "connected"), as in the CMS's and the handset's own
// substring searches. `registration failed` finds messages with both words in any order;
// `"registration failed"` only those with the phrase. Characters have no other meaning (`%`, `_`,
// `\`, `*` are literal). A quote left open runs to the end of the text. The store's SQL
// (store/queries.ts) and the in-memory matcher (query-api/match.ts) both take their terms from here.

/** At most this many terms in one `q` (each is one condition of the query). */
export const MAX_TEXT_TERMS = 16;

/** The terms of `q`, in order, duplicates (ignoring case) dropped; [] when it has none. */
export function textTerms(q: string): string[] {
  const terms: string[] = [];
  const seen = new Set<string>();
  const add = (t: string): void => {
    const key = t.toLowerCase();
    if (t === '' || seen.has(key)) return;
    seen.add(key);
    terms.push(t);
  };
  let i = 0;
  const n = q.length;
  while (i < n) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"') {
      const end = q.indexOf('"', i + 1);
      const stop = end === -1 ? n : end;
      add(q.slice(i + 1, stop).trim());
      i = stop + 1;
    } else {
      let j = i;
      while (j < n && q[j] !== '"' && !/\s/.test(q[j]!)) j++;
      add(q.slice(i, j));
      i = j;
    }
  }
  return terms;
}
