import Foundation
import Tensor
import Text

/// Mean C of human ConvAI2 responses against their own persona and a random other one, and of a contradiction
/// transcript (every response replaced by the negation of one of its own persona's sentences): the three checks
/// a consistency scorer must pass (own > other, contradiction clearly negative).
public enum HumanConsistency {
    public struct Scores {
        public var own: [UtteranceConsistency]
        public var other: [UtteranceConsistency]
        public var contradiction: [UtteranceConsistency]
        /// Responses left out of the contradiction transcript (no sentence of their persona has a negation rule).
        public var dropped: Int
        /// NLI pairs scored.
        public var pairs: Int
    }

    public static func measure(episodes: [ConvAI2.Episode], scorer: ConsistencyScorer, seed: UInt64) -> Scores {
        var rng = SeededGenerator(seed: seed)
        var own: [(utterance: String, persona: [String])] = [], other: [(utterance: String, persona: [String])] = []
        var contradicting: [(utterance: String, persona: [String])] = []
        var dropped = 0
        for (i, episode) in episodes.enumerated() {
            var j = Int(rng.next() % UInt64(episodes.count - 1))
            if j >= i { j += 1 }
            for pair in episode.pairs {
                own.append((pair.response, episode.persona))
                other.append((pair.response, episodes[j].persona))
                let negated = episode.persona.shuffled(using: &rng).lazy.compactMap {
                    PersonaNLIGenerator.contradiction(of: $0, using: &rng)
                }.first
                if let negated { contradicting.append((negated, episode.persona)) } else { dropped += 1 }
            }
        }
        let pairs = (own + other + contradicting).reduce(0) { $0 + $1.persona.count }
        return Scores(own: scorer.score(own), other: scorer.score(other), contradiction: scorer.score(contradicting),
                      dropped: dropped, pairs: pairs)
    }
}
