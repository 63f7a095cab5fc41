import Foundation
import Metrics
import Recommender
import SpokenRecommender
import Tensor

/// How far style adaptation moved a realiser's sentences toward a voice's style examples: corpus BLEU of the
/// delexicalised sentences for every attribute and 30 artist lists (x 3 answer contexts) against the style examples
/// of the same kind (multi-reference), how varied they are, and how many were usable / fell back to the template.
public enum StyleUptake {
    public struct Result: Sendable {
        public var bleu: Double
        public var distinct: Int, usable: Int, fallbacks: Int, total: Int
    }

    public static func measure(_ realiser: ActionRealiser, style: URL, dataset d: CRSDataset, seed: UInt64) throws -> Result {
        let pairs = try ActionPairMiner.styleExamples(style).filter { $0.context == .start }
        var rng = SeededGenerator(seed: seed)
        var actions = (0..<d.attributeCount).map { CRSAction.ask(attribute: $0) }
        for _ in 0..<30 { actions.append(.recommend(items: (0..<3).map { _ in Int(rng.next() % UInt64(d.itemCount)) })) }
        var hypotheses: [String] = []
        var referenceLists: [[String]] = []
        var usable = 0, fallbacks = 0
        for (i, action) in actions.enumerated() {
            let kind = ActionKind.of(action, in: d)
            let refs = pairs.filter { $0.kind == kind || ($0.kind != .recommend && kind != .recommend) }.map(\.target)
            for context in AnswerContext.allCases {
                let r = realiser.realise(action, context: context, dataset: d, seed: seed &+ UInt64(i))
                hypotheses.append((r.usedFallback ? [] : r.decoded).joined(separator: " "))
                referenceLists.append(refs)
                usable += r.usedFallback ? 0 : 1
                fallbacks += r.usedFallback ? 1 : 0
            }
        }
        let streams = referenceLists.map(\.count).max() ?? 0
        let references = (0..<streams).map { s in referenceLists.map { s < $0.count ? $0[s] : nil } }
        return Result(bleu: BLEU().corpusScore(hypotheses: hypotheses, references: references).score,
                      distinct: Set(hypotheses).count, usable: usable, fallbacks: fallbacks, total: hypotheses.count)
    }
}
