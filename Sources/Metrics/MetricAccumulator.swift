/// Metrics module: BLEU (sacreBLEU-compatible), perplexity and distinct-n (no model code).
///
/// Design notes: every metric is an accumulator that sums sufficient statistics (n-gram match
/// counts and totals, summed NLL and token counts, n-gram sets) over a corpus and divides once in
/// `measure()`; no metric averages per-sentence averages (ARCHITECTURE anchor 12). Text metrics
/// work on Unicode scalars so that they agree with Python reference tools code point for code point.

/// A metric that sums statistics over a corpus: `reset()`, then `accumulate(...)` per item
/// (its arguments depend on the metric), then `measure()` once.
public protocol MetricAccumulator {
    associatedtype Measurement
    /// Forgets everything accumulated.
    mutating func reset()
    /// The metric of everything accumulated since the last reset.
    func measure() -> Measurement
}
