import Foundation

/// Corpus BLEU (Papineni et al., ACL 2002) exactly as sacreBLEU 2.6.0 computes it (Post, WMT 2018).
///
///     BLEU = BP * exp( (1/N) * sum_{n=1..N} log p_n ),   p_n = 100 * matches_n / total_n
///     BP   = 1 if c >= r else exp(1 - r / c)              (c hypothesis length, r closest reference length)
///
/// Matches are clipped n-gram counts against the maximum count over a segment's references; the
/// reference length of a segment is the one closest to the hypothesis length (ties: the shorter).
/// Corpus BLEU sums these sufficient statistics over all segments and divides once.
/// Smoothing follows Chen & Cherry (WMT 2014): `floor` (method 1), `add-k` (method 2),
/// `exp` (method 3, mteval-v13a's NIST smoothing). Every floating-point operation is done in the
/// order sacreBLEU does it, so scores agree bit for bit on the same statistics.
public struct BLEU: Sendable {
    /// The sacreBLEU release whose behaviour this reproduces; it ends the signature.
    public static let sacreBLEUVersion = "2.6.0"

    /// How zero and low n-gram counts are smoothed.
    public enum Smoothing: Sendable, Equatable {
        /// No smoothing: a zero precision makes the score 0.
        case none
        /// Chen & Cherry method 1: a zero match count is replaced by `epsilon` (sacreBLEU default 0.1).
        case floor(Double)
        /// Chen & Cherry method 2: add `k` to matches and totals for n > 1 (sacreBLEU default 1).
        case addK(Double)
        /// Chen & Cherry method 3 (mteval-v13a): the k-th zero precision becomes 1 / (2^k * total).
        case exp

        /// sacreBLEU's defaults for the two parametrised methods.
        public static let floorDefault = Smoothing.floor(0.1)
        public static let addKDefault = Smoothing.addK(1)

        /// The signature's `smooth:` value, e.g. `exp`, `floor[0.10]`, `add-k[1.00]`.
        public var signature: String {
            switch self {
            case .none: return "none"
            case .exp: return "exp"
            case .floor(let v): return "floor[\(String(format: "%.2f", v))]"
            case .addK(let v): return "add-k[\(String(format: "%.2f", v))]"
            }
        }

        /// Parses sacreBLEU's `--smooth-method` / `--smooth-value` pair (nil value: the default).
        public init?(method: String, value: Double? = nil) {
            switch method {
            case "none": self = .none
            case "exp": self = .exp
            case "floor": self = .floor(value ?? 0.1)
            case "add-k": self = .addK(value ?? 1)
            default: return nil
            }
        }
    }

    public var tokenizer: BLEUTokenizer
    public var lowercase: Bool
    public var smoothing: Smoothing
    /// Count only the n-gram orders up to the highest one with any hypothesis n-grams (sentence BLEU).
    public var effectiveOrder: Bool
    public var maxOrder: Int

    public init(
        tokenizer: BLEUTokenizer = .v13a, lowercase: Bool = false, smoothing: Smoothing = .exp,
        effectiveOrder: Bool = false, maxOrder: Int = 4
    ) {
        precondition(maxOrder >= 1, "BLEU: maxOrder must be at least 1, got \(maxOrder)")
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.smoothing = smoothing
        self.effectiveOrder = effectiveOrder
        self.maxOrder = maxOrder
    }

    /// sacreBLEU `_preprocess_segment`: optional `lower()`, `rstrip()`, tokenize, whitespace split.
    public func tokens(_ sentence: String) -> [[Unicode.Scalar]] {
        var line = Array(sentence.unicodeScalars)
        if lowercase { line = PythonText.lower(line) }
        return tokenizer.tokens(PythonText.rstrip(line))
    }

    /// The sufficient statistics of one segment against its references (at least one).
    public func statistics(hypothesis: String, references: [String]) -> BLEUStatistics {
        precondition(!references.isEmpty, "BLEU: a segment needs at least one reference")
        // Give every distinct token an id so that n-grams become small integer arrays.
        var ids: [[Unicode.Scalar]: Int] = [:]
        func encode(_ sentence: String) -> [Int] {
            tokens(sentence).map { token in
                if let id = ids[token] { return id }
                ids[token] = ids.count
                return ids.count - 1
            }
        }
        // Reference n-gram counts: the maximum over references.
        var referenceCounts: [[Int]: Int] = [:]
        var referenceLengths: [Int] = []
        for reference in references {
            let words = encode(reference)
            referenceLengths.append(words.count)
            for (ngram, count) in Self.ngramCounts(words, maxOrder: maxOrder) {
                referenceCounts[ngram] = max(referenceCounts[ngram] ?? 0, count)
            }
        }
        let words = encode(hypothesis)
        var stats = BLEUStatistics(maxOrder: maxOrder)
        stats.hypothesisLength = words.count
        stats.referenceLength = Self.closestReferenceLength(words.count, referenceLengths)
        for (ngram, count) in Self.ngramCounts(words, maxOrder: maxOrder) {
            stats.totals[ngram.count - 1] += count
            stats.matches[ngram.count - 1] += min(count, referenceCounts[ngram] ?? 0)
        }
        return stats
    }

    /// The score of already summed statistics (sacreBLEU `BLEU.compute_bleu`).
    public func score(_ stats: BLEUStatistics) -> BLEUScore {
        precondition(stats.maxOrder == maxOrder, "BLEU: statistics of order \(stats.maxOrder), metric of \(maxOrder)")
        let sysLen = stats.hypothesisLength, refLen = stats.referenceLength
        var bp = 1.0
        if sysLen < refLen {
            bp = sysLen > 0 ? Foundation.exp(1 - Double(refLen) / Double(sysLen)) : 0.0
        }
        var correct = stats.matches.map(Double.init), total = stats.totals.map(Double.init)
        var precisions = [Double](repeating: 0, count: maxOrder)
        // No match at any order: score 0 without smoothing (sacreBLEU issue #141).
        if !stats.matches.contains(where: { $0 != 0 }) {
            return BLEUScore(score: 0, counts: correct, totals: total, precisions: precisions, bp: bp,
                             sysLen: sysLen, refLen: refLen)
        }
        var smoothMteval = 1.0
        var order = maxOrder
        for n in 0..<maxOrder {
            if case .addK(let k) = smoothing, n > 0 {
                correct[n] += k
                total[n] += k
            }
            if total[n] == 0 { break }
            if effectiveOrder { order = n + 1 }
            if correct[n] == 0 {
                switch smoothing {
                case .exp:
                    smoothMteval *= 2
                    precisions[n] = 100.0 / (smoothMteval * total[n])
                case .floor(let epsilon):
                    precisions[n] = 100.0 * epsilon / total[n]
                case .none, .addK:
                    break
                }
            } else {
                precisions[n] = 100.0 * correct[n] / total[n]
            }
        }
        // sacreBLEU floors log(0) at -9999999999 (utils.my_log); the sum starts at 0 and runs in order.
        var logSum = 0.0
        for p in precisions[..<order] { logSum += p == 0 ? -9_999_999_999 : Foundation.log(p) }
        let score = bp * Foundation.exp(logSum / Double(order))
        return BLEUScore(score: score, counts: correct, totals: total, precisions: precisions, bp: bp,
                         sysLen: sysLen, refLen: refLen)
    }

    /// Sentence BLEU of one hypothesis against its references. sacreBLEU's `sentence_bleu`
    /// turns on `effectiveOrder`; this uses the metric's setting as given.
    public func sentenceScore(hypothesis: String, references: [String]) -> BLEUScore {
        score(statistics(hypothesis: hypothesis, references: references))
    }

    /// Corpus BLEU. `references` holds reference *streams* as in sacreBLEU: `references[k][i]` is the
    /// k-th reference of segment i, nil where segment i has fewer references.
    public func corpusScore(hypotheses: [String], references: [[String?]]) -> BLEUScore {
        var accumulator = BLEUAccumulator(self)
        for (i, hypothesis) in hypotheses.enumerated() {
            accumulator.accumulate(hypothesis: hypothesis, references: references.compactMap { $0[i] })
        }
        return accumulator.measure()
    }

    /// The reproducibility signature, e.g. `nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`.
    /// `referenceCount` nil means segments had different numbers of references (`nrefs:var`).
    public func signature(referenceCount: Int?) -> String {
        let nrefs = referenceCount.map(String.init) ?? "var"
        return "nrefs:\(nrefs)|case:\(lowercase ? "lc" : "mixed")|eff:\(effectiveOrder ? "yes" : "no")"
            + "|tok:\(tokenizer.signature)|smooth:\(smoothing.signature)|version:\(Self.sacreBLEUVersion)"
    }

    /// Counts of all n-grams of orders 1...maxOrder.
    static func ngramCounts(_ words: [Int], maxOrder: Int) -> [[Int]: Int] {
        var counts: [[Int]: Int] = [:]
        for n in 1...maxOrder where n <= words.count {
            for start in 0...(words.count - n) {
                counts[Array(words[start..<(start + n)]), default: 0] += 1
            }
        }
        return counts
    }

    /// The reference length closest to the hypothesis length; ties go to the shorter reference.
    static func closestReferenceLength(_ hypothesisLength: Int, _ lengths: [Int]) -> Int {
        var best = lengths[0]
        for length in lengths.dropFirst() {
            let d = abs(hypothesisLength - length), bestD = abs(hypothesisLength - best)
            if d < bestD || (d == bestD && length < best) { best = length }
        }
        return best
    }
}

/// BLEU's sufficient statistics: they add up over segments; the score is computed once at the end.
public struct BLEUStatistics: Sendable, Equatable {
    public var hypothesisLength = 0
    public var referenceLength = 0
    /// Clipped n-gram matches, index n-1 for order n.
    public var matches: [Int]
    /// Hypothesis n-grams, index n-1 for order n.
    public var totals: [Int]

    public var maxOrder: Int { matches.count }

    public init(maxOrder: Int = 4) {
        matches = [Int](repeating: 0, count: maxOrder)
        totals = [Int](repeating: 0, count: maxOrder)
    }

    public init(hypothesisLength: Int, referenceLength: Int, matches: [Int], totals: [Int]) {
        precondition(matches.count == totals.count, "BLEUStatistics: \(matches.count) match orders, \(totals.count) totals")
        self.hypothesisLength = hypothesisLength
        self.referenceLength = referenceLength
        self.matches = matches
        self.totals = totals
    }

    public static func += (lhs: inout BLEUStatistics, rhs: BLEUStatistics) {
        precondition(lhs.maxOrder == rhs.maxOrder, "BLEUStatistics: adding order \(rhs.maxOrder) to \(lhs.maxOrder)")
        lhs.hypothesisLength += rhs.hypothesisLength
        lhs.referenceLength += rhs.referenceLength
        for n in 0..<lhs.maxOrder {
            lhs.matches[n] += rhs.matches[n]
            lhs.totals[n] += rhs.totals[n]
        }
    }
}

/// A BLEU result with sacreBLEU's fields. Scores are in [0, 100].
public struct BLEUScore: Sendable, Equatable {
    public var score: Double
    /// Matches per order as sacreBLEU reports them: with `add-k`, k is included for n > 1.
    public var counts: [Double]
    /// Hypothesis n-grams per order, likewise including k for n > 1 under `add-k`.
    public var totals: [Double]
    public var precisions: [Double]
    /// Brevity penalty.
    public var bp: Double
    public var sysLen: Int
    public var refLen: Int

    /// Hypothesis length over reference length (0 without reference words).
    public var ratio: Double { refLen == 0 ? 0 : Double(sysLen) / Double(refLen) }

    /// sacreBLEU's text line: `BLEU|<signature> = 48.5 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944
    /// hyp_len = 17 ref_len = 18)`; `width` is the number of decimals of the score.
    public func formatted(signature: String, width: Int = 1) -> String {
        let precisionText = precisions.map { String(format: "%.1f", $0) }.joined(separator: "/")
        return "BLEU|\(signature) = \(String(format: "%.\(width)f", score)) \(precisionText) "
            + "(BP = \(String(format: "%.3f", bp)) ratio = \(String(format: "%.3f", ratio)) "
            + "hyp_len = \(sysLen) ref_len = \(refLen))"
    }
}

/// Corpus BLEU as an accumulator: `accumulate` adds one segment's statistics, `measure` divides once.
public struct BLEUAccumulator: MetricAccumulator, Sendable {
    public let metric: BLEU
    public private(set) var statistics: BLEUStatistics
    /// Numbers of references seen per segment (one value: `nrefs:<n>`, several: `nrefs:var`).
    public private(set) var referenceCounts: Set<Int> = []

    public init(_ metric: BLEU = BLEU()) {
        self.metric = metric
        statistics = BLEUStatistics(maxOrder: metric.maxOrder)
    }

    public mutating func reset() {
        statistics = BLEUStatistics(maxOrder: metric.maxOrder)
        referenceCounts = []
    }

    public mutating func accumulate(hypothesis: String, references: [String]) {
        statistics += metric.statistics(hypothesis: hypothesis, references: references)
        referenceCounts.insert(references.count)
    }

    public func measure() -> BLEUScore { metric.score(statistics) }

    /// The signature for what was accumulated so far.
    public var signature: String {
        metric.signature(referenceCount: referenceCounts.count == 1 ? referenceCounts.first : nil)
    }
}
