/// distinct-n (Li et al., NAACL 2016, "A Diversity-Promoting Objective Function for Neural
/// Conversation Models"): the number of distinct n-grams over all generated responses divided by
/// the total number of n-grams in them, counted over the whole corpus (not averaged per response).
/// N-grams never cross response boundaries. Li et al. scale by the number of generated tokens;
/// this follows the common corpus form distinct n-grams / total n-grams (identical for n = 1).
public struct DistinctAccumulator: MetricAccumulator, Sendable {
    /// The n-gram orders measured, e.g. [1, 2].
    public let orders: [Int]
    private var seen: [Int: Set<[String]>]
    private var totals: [Int: Int]

    public init(orders: [Int] = [1, 2]) {
        precondition(!orders.isEmpty && orders.allSatisfy { $0 >= 1 }, "DistinctAccumulator: orders must be >= 1, got \(orders)")
        self.orders = orders
        seen = Dictionary(uniqueKeysWithValues: orders.map { ($0, []) })
        totals = Dictionary(uniqueKeysWithValues: orders.map { ($0, 0) })
    }

    public mutating func reset() {
        for n in orders {
            seen[n] = []
            totals[n] = 0
        }
    }

    /// Adds one generated response, already tokenized.
    public mutating func accumulate(tokens: [String]) {
        for n in orders where tokens.count >= n {
            for start in 0...(tokens.count - n) {
                seen[n]!.insert(Array(tokens[start..<(start + n)]))
            }
            totals[n]! += tokens.count - n + 1
        }
    }

    /// Adds one generated response, split on whitespace.
    public mutating func accumulate(response: String) {
        accumulate(tokens: response.split(whereSeparator: { $0.isWhitespace }).map(String.init))
    }

    /// Distinct n-grams / total n-grams for each order (0 where no n-gram was seen).
    public func measure() -> [Int: Double] {
        var result: [Int: Double] = [:]
        for n in orders {
            let total = totals[n]!
            result[n] = total == 0 ? 0 : Double(seen[n]!.count) / Double(total)
        }
        return result
    }

    /// Numbers of distinct and total n-grams of order `n`.
    public func counts(order n: Int) -> (distinct: Int, total: Int) {
        (seen[n]?.count ?? 0, totals[n] ?? 0)
    }
}
