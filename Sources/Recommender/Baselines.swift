import Foundation
import Tensor

// Policies that need no learning, the episode runner and the SR@k / AT metrics.
//
// MaxE (Lei et al. 2020, EAR's "Max Entropy" baseline; MetaCRS Table 2: lastfm SR@10 0.137, AT 9.71):
// ask the unasked attribute a with the largest binary entropy over the candidates,
//   H(a) = -p log p - (1 - p) log(1 - p),   p = |{v in candidates : a in P_v}| / |candidates|,
// and recommend the first K candidates once at most K remain, when no unasked attribute splits the
// candidates, or on the last turn (a rule that only recommends below K candidates never reaches a
// recommendation on lastfm: rejected attributes do not filter, so candidates stay in the hundreds).

/// A conversational policy: chooses the next action from the state. Randomness comes from the
/// episode's generator, so a policy is a plain value shared by all episodes.
public protocol CRSPolicy: Sendable {
    func act(_ state: ConversationState, simulator: UserSimulator, rng: inout SeededGenerator) -> CRSAction
}

/// The max-entropy rule policy.
public struct MaxEntropyPolicy: CRSPolicy {
    /// Size of a recommendation list (K_rec).
    public var listSize: Int
    /// Recommend on the last turn instead of asking.
    public var recommendOnLastTurn: Bool

    public init(listSize: Int = 10, recommendOnLastTurn: Bool = true) {
        self.listSize = listSize
        self.recommendOnLastTurn = recommendOnLastTurn
    }

    public func act(_ state: ConversationState, simulator: UserSimulator, rng: inout SeededGenerator) -> CRSAction {
        let lastTurn = state.turn + 1 >= simulator.maxTurns
        if state.candidates.count > listSize && !(recommendOnLastTurn && lastTurn) {
            let entropies = Self.entropies(state.candidates, masks: simulator.dataset.itemMasks,
                                           attributeCount: simulator.dataset.attributeCount)
            var best = -1
            var bestEntropy = 0.0
            for a in 0..<entropies.count where state.askedAttributes >> UInt64(a) & 1 == 0 {
                if entropies[a] > bestEntropy {
                    best = a
                    bestEntropy = entropies[a]
                }
            }
            if best >= 0 { return .ask(attribute: best) }
        }
        // Few candidates, or no attribute splits them any more: recommend the head of the list.
        return .recommend(items: Array(state.candidates.prefix(listSize)))
    }

    /// H(a) for every attribute over `candidates` (0 for an empty list).
    public static func entropies(_ candidates: [Int], masks: [UInt64], attributeCount: Int) -> [Double] {
        var counts = [Int](repeating: 0, count: 64)
        masks.withUnsafeBufferPointer { m in
            counts.withUnsafeMutableBufferPointer { c in
                for v in candidates {
                    var bits = m[v]
                    while bits != 0 {
                        c[bits.trailingZeroBitCount] += 1
                        bits &= bits - 1
                    }
                }
            }
        }
        let n = Double(candidates.count)
        return (0..<attributeCount).map { a in
            guard n > 0, counts[a] > 0, counts[a] < candidates.count else { return 0 }
            let p = Double(counts[a]) / n
            return -p * log(p) - (1 - p) * log(1 - p)
        }
    }
}

/// The random policy: recommends when at most K candidates remain; otherwise asks a uniformly drawn
/// unasked attribute with probability `askProbability`, else recommends K candidates drawn uniformly.
public struct RandomPolicy: CRSPolicy {
    public var listSize: Int
    public var askProbability: Float

    public init(listSize: Int = 10, askProbability: Float = 0.5) {
        self.listSize = listSize
        self.askProbability = askProbability
    }

    public func act(_ state: ConversationState, simulator: UserSimulator, rng: inout SeededGenerator) -> CRSAction {
        let candidates = state.candidates
        if candidates.count > listSize {
            let unasked = (0..<simulator.dataset.attributeCount).filter { state.askedAttributes >> UInt64($0) & 1 == 0 }
            if !unasked.isEmpty && rng.nextUniform() < askProbability {
                return .ask(attribute: unasked[Int.random(in: 0..<unasked.count, using: &rng)])
            }
            // K distinct candidates: a partial Fisher-Yates shuffle of positions.
            var positions = Array(0..<candidates.count)
            for i in 0..<listSize {
                positions.swapAt(i, Int.random(in: i..<positions.count, using: &rng))
            }
            return .recommend(items: positions.prefix(listSize).map { candidates[$0] })
        }
        return .recommend(items: candidates)
    }
}

/// One turn of a recorded episode.
public struct CRSTurnRecord: Sendable {
    public var action: CRSAction
    public var step: CRSStep
    /// Candidates left after the turn.
    public var candidatesAfter: Int
}

/// A finished episode.
public struct CRSEpisode: Sendable {
    public var session: CRSSession
    public var succeeded: Bool
    /// Turns used (T for a failed session).
    public var turns: Int
    public var totalReward: Float
    /// Filled only when recording was asked for.
    public var record: [CRSTurnRecord]
}

extension UserSimulator {
    /// Runs one session to its end under `policy`.
    public func run(_ policy: some CRSPolicy, session: CRSSession, rng: inout SeededGenerator, record: Bool = false) -> CRSEpisode {
        var state = start(session)
        var total: Float = 0
        var turns: [CRSTurnRecord] = []
        while !state.done {
            let action = policy.act(state, simulator: self, rng: &rng)
            let outcome = step(action, state: &state)
            total += outcome.reward
            if record { turns.append(CRSTurnRecord(action: action, step: outcome, candidatesAfter: state.candidates.count)) }
        }
        return CRSEpisode(session: session, succeeded: state.succeeded,
                          turns: state.succeeded ? state.turn : maxTurns, totalReward: total, record: turns)
    }

    /// Runs episodes 0..<count over `users` under `seed`; episode i uses `episodeGenerator(seed:index:)`.
    public func evaluate(_ policy: some CRSPolicy, users: [Int], episodes count: Int, seed: UInt64,
                         visit: ((Int, CRSEpisode) -> Void)? = nil) -> CRSMetrics {
        var metrics = CRSMetrics()
        for index in 0..<count {
            var rng = Self.episodeGenerator(seed: seed, index: index)
            let session = drawSession(users: users, index: index, using: &rng)
            let episode = run(policy, session: session, rng: &rng)
            metrics.accumulate(episode)
            visit?(index, episode)
        }
        return metrics
    }

    /// A readable transcript (lastfm: attribute and artist names).
    public func transcript(_ episode: CRSEpisode) -> String {
        let d = dataset
        var lines = ["user \(episode.session.user), target \(d.itemLabel(episode.session.target)) "
            + "(P_v: \(d.itemAttributes[episode.session.target].map(d.attributeLabel).joined(separator: ", ")))"]
        if let a = episode.session.opening { lines.append("  user:   I'd like some \(d.attributeLabel(a)) music.") }
        for (i, turn) in episode.record.enumerated() {
            switch turn.action {
            case .ask(let a): lines.append("  [\(i + 1)] system: Do you like \(d.attributeLabel(a))?")
            case .recommend(let items):
                lines.append("  [\(i + 1)] system: I suggest \(items.map(d.itemLabel).joined(separator: ", ")).")
            }
            let answer: String
            switch turn.step.event {
            case .askAccepted: answer = "Yes."
            case .askRejected: answer = "No."
            case .recommendAccepted: answer = "Yes, I'll take \(d.itemLabel(episode.session.target))!"
            case .recommendRejected: answer = "None of those."
            case .quit: answer = "(quits)"
            }
            lines.append("      user:   \(answer)  reward \(turn.step.reward), candidates \(turn.candidatesAfter)")
        }
        lines.append("  -> \(episode.succeeded ? "success" : "failure") in \(episode.turns) turns, return \(episode.totalReward)")
        return lines.joined(separator: "\n")
    }
}

/// SR@k and AT over episodes: sums of successes, turns and rewards, divided once in `measure`.
public struct CRSMetrics: Equatable, Sendable {
    public private(set) var episodes = 0
    public private(set) var successes = 0
    /// Sum of turns, a failed session counting T.
    public private(set) var turns = 0
    public private(set) var reward: Double = 0

    public init() {}

    public mutating func reset() { self = CRSMetrics() }

    public mutating func accumulate(_ episode: CRSEpisode) {
        accumulate(succeeded: episode.succeeded, turns: episode.turns, reward: episode.totalReward)
    }

    /// `turns` must already count a failed session as T.
    public mutating func accumulate(succeeded: Bool, turns: Int, reward: Float) {
        episodes += 1
        successes += succeeded ? 1 : 0
        self.turns += turns
        self.reward += Double(reward)
    }

    public mutating func merge(_ other: CRSMetrics) {
        episodes += other.episodes
        successes += other.successes
        turns += other.turns
        reward += other.reward
    }

    /// Success rate within T turns (SR@k with k = list size), average turns, mean return.
    public func measure() -> (successRate: Double, averageTurns: Double, meanReward: Double) {
        let n = Double(max(episodes, 1))
        return (Double(successes) / n, Double(turns) / n, reward / n)
    }
}

extension Array where Element == CRSMetrics {
    /// The sum over entries (users).
    public func merged() -> CRSMetrics {
        var total = CRSMetrics()
        for m in self { total.merge(m) }
        return total
    }
}
