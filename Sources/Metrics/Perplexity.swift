import Foundation

/// Perplexity of a language model over a corpus:
///
///     PPL = exp( sum_tokens NLL / number of tokens )
///
/// NLL in nats. Totals are summed in Double over all batches and divided once, so batches of
/// different sizes weigh by their token counts (never an average of per-batch perplexities).
public struct PerplexityAccumulator: MetricAccumulator, Sendable {
    public private(set) var totalNLL: Double = 0
    public private(set) var tokenCount: Int = 0

    public init() {}

    public mutating func reset() {
        totalNLL = 0
        tokenCount = 0
    }

    /// Adds a batch: `nll` summed over its `tokens` predicted (non-padding) tokens. A non-finite NLL (a diverged
    /// model) makes the measure non-finite, for the caller to report; it does not stop the program.
    public mutating func accumulate(nll: Double, tokens: Int) {
        precondition(tokens >= 0, "PerplexityAccumulator: negative token count \(tokens)")
        totalNLL += nll
        tokenCount += tokens
    }

    /// Adds per-token negative log-likelihoods.
    public mutating func accumulate(tokenNLLs: [Float]) {
        var sum = 0.0
        tokenNLLs.withUnsafeBufferPointer { buffer in
            for value in buffer { sum += Double(value) }
        }
        accumulate(nll: sum, tokens: tokenNLLs.count)
    }

    /// Mean NLL per token in nats (nil before any token).
    public var meanNLL: Double? { tokenCount == 0 ? nil : totalNLL / Double(tokenCount) }

    /// exp(mean NLL); nil before any token.
    public func measure() -> Double? { meanNLL.map { Foundation.exp($0) } }
}
