import Foundation
import Text

/// The speed of C: N human ConvAI2 responses each against 5 distinct persona sentences (its own persona topped up
/// from the next dialogues' personas, so all N x 5 pairs are real work and none repeats).
public enum NLISpeed {
    public struct Result {
        public var utterances: Int, pairs: Int, distinct: Int, tokens: Int
        public var seconds: Double
        /// User + system CPU seconds, all threads.
        public var cpuSeconds: Double
        public var meanC: Double
    }

    /// Nil when the episodes hold fewer than `utterances` responses.
    public static func measure(episodes: [ConvAI2.Episode], utterances: Int, model: NLIModel) -> Result? {
        var items: [(utterance: String, persona: [String])] = []
        for (i, e) in episodes.enumerated() where items.count < utterances {
            var persona: [String] = []
            for sentence in (0..<episodes.count).lazy.flatMap({ episodes[(i + $0) % episodes.count].persona }) where !persona.contains(sentence) {
                persona.append(sentence)
                if persona.count == 5 { break }
            }
            items += e.pairs.prefix(utterances - items.count).map { (utterance: $0.response, persona: persona) }
        }
        guard items.count == utterances else { return nil }
        let pairs = items.flatMap { item in item.persona.map { (premise: item.utterance, hypothesis: $0) } }
        let distinct = Set(pairs.map { $0.premise + "\u{0}" + $0.hypothesis }).count
        let tokens = model.classifier.encode(pairs, tokenizer: model.tokenizer).reduce(0) { $0 + $1.count }
        let scorer = ConsistencyScorer(predictor: model)
        let (start, cpuStart) = (Date(), processCPUSeconds())
        let scored = scorer.score(items)
        let (seconds, cpu) = (Date().timeIntervalSince(start), processCPUSeconds() - cpuStart)
        return Result(utterances: items.count, pairs: pairs.count, distinct: distinct, tokens: tokens, seconds: seconds,
                      cpuSeconds: cpu, meanC: ConsistencyScorer.meanScore(scored))
    }

    /// User + system CPU seconds of this process so far (all threads).
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}
