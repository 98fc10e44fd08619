/**
 * The exact one-sided binomial test, for judging an error rate against a limit. Exact (not a
 * normal approximation) because error counts are small: 2 errors in 50 requests is 4%, yet a
 * service with a true rate of 1% shows that 9% of the time. Pure; no dependencies.
 */

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: ~1e-15 relative). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
    -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * P(X ≥ k) for X ~ Binomial(n, p): the p-value of the one-sided test "is the rate above p?"
 * after k events in n trials (scipy.stats.binomtest(k, n, p, alternative='greater').pvalue).
 * Summed upward from k, so tiny tails keep their relative precision.
 */
export function binomialSf(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  const logRatio = Math.log(p) - Math.log1p(-p);
  let logTerm = logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1) + k * Math.log(p) + (n - k) * Math.log1p(-p);
  let sum = 0;
  for (let i = k; i <= n; i++) {
    const term = Math.exp(logTerm);
    sum += term;
    // Past the mode the terms only shrink: stop once they no longer matter.
    if (i > n * p && term < sum * 1e-17) break;
    logTerm += Math.log(n - i) - Math.log(i + 1) + logRatio;
  }
  return Math.min(1, sum);
}
