/**
 * "Did you mean" suggestions for typos in keys and values.
 */

/**
 * Optimal string alignment distance (Damerau-Levenshtein restricted to adjacent transpositions):
 * the number of insertions, deletions, substitutions and swaps of neighbours turning `a` into `b`.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `input`, or undefined when none is close enough to be a plausible typo.
 * Case is ignored; the allowed distance grows with the word (1 edit up to 4 letters, 2 up to 8, then 3),
 * so "sorce" finds "source" but "port" never turns into "host".
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.toLowerCase();
  const limit = needle.length <= 4 ? 1 : needle.length <= 8 ? 2 : 3;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(needle, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= limit ? best : undefined;
}

/** The word among `words` that is most plausibly a typo for `target` (the reverse question of `closest`). */
export function closestTo(target: string, words: readonly string[]): string | undefined {
  return words.find((word) => closest(word, [target]) !== undefined);
}
