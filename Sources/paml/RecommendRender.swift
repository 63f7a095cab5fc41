import ArgumentParser
import Experiments
import Foundation
import Recommender
import SpokenRecommender

/// `paml recommend render`: sentences for sample actions, before and after style adaptation.
struct RecommendRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Say sample CRS actions in words (lastfm names); with --style, before and after style adaptation."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var speech: SpeechOptions
    @Option(help: "Comma-separated attribute names to ask about.") var attributes = "rock,90s,jazz,singer-songwriter"
    @Option(help: "Comma-separated item ids to recommend (one list).") var items = "0,1,2"
    @Option(help: "Sentences per action and context (1...100).") var samples = 1
    @Option(help: "Seed of the first sample.") var seed: UInt64 = 0

    func validate() throws { try OptionCheck.within(samples, 1...100, "--samples") }

    func run() throws {
        let d = try CRSDataset.load(directory: data.corpusRoot.file("crs/lastfm"))
        let actions = try CRSAction.parse(asking: attributes, recommending: items, in: d)
        var plain = speech
        (plain.style, plain.voice) = (nil, nil)
        let systems: [(String, ActionRealiser?)] = speech.style == nil && speech.voice == nil
            ? [("model", try plain.realiser(dataset: d))]
            : [("before", try plain.realiser(dataset: d)), ("after", try speech.realiser(dataset: d))]
        for action in actions {
            for context in AnswerContext.allCases {
                for (label, realiser) in systems {
                    for s in 0..<UInt64(samples) {
                        let text = realiser.map { $0.realise(action, context: context, history: context.exampleHistory, dataset: d, seed: seed &+ s).text }
                            ?? SpokenRecommender.templateSentence(action, dataset: d)
                        print("\(label)\t\(context.rawValue)\t\(text)")
                    }
                }
            }
        }
        guard let style = speech.style else { return }
        for (label, realiser) in systems {
            guard let realiser else { continue }
            let u = try StyleUptake.measure(realiser, style: URL(fileURLWithPath: style), dataset: d, seed: seed)
            print(String(format: "%@: BLEU to the style examples %.2f; %d distinct delexicalised sentences; "
                         + "model sentences %d, template fallbacks %d (of %d)", label, u.bleu, u.distinct, u.usable, u.fallbacks, u.total))
        }
    }
}
