import ArgumentParser
import Foundation
import NLI
import Text

struct NLIHumanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "human",
        abstract: "Mean C of human ConvAI2 responses against their own persona, a random other one, and of a contradiction transcript.",
        discussion: """
        The contradiction transcript replaces every response with the negation of one of its own persona's sentences \
        (seeded; responses whose persona has no sentence with a negation rule are dropped and counted). A scorer that \
        sees contradictions must give it a clearly negative C.
        """
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var model: NLIModelOptions

    @Option(name: .long, help: "ConvAI2 file under --data.")
    var file = "personachat/valid_self_original_no_cands.txt"
    @Option(name: .long, help: "Dialogues used (the first N; 0 = all).")
    var dialogues = 300
    @Option(name: .long, help: "Seed for drawing the other persona.")
    var seed: UInt64 = 1

    func validate() throws { try OptionCheck.atLeast(dialogues, 0, "--dialogues") }

    func run() throws {
        var episodes = try ConvAI2.readEpisodes(data.corpusRoot.file(file), personaPrefix: "your persona:")
        if dialogues > 0 { episodes = Array(episodes.prefix(dialogues)) }
        guard episodes.count > 1 else { throw ValidationError("\(file): need at least 2 dialogues") }
        let nli = try model.load()
        let start = Date()
        let c = HumanConsistency.measure(episodes: episodes, scorer: ConsistencyScorer(predictor: nli), seed: seed)
        let seconds = Date().timeIntervalSince(start)
        print("ConvAI2 \(file), first \(episodes.count) dialogues, \(c.own.count) human responses, seed \(seed):")
        print(String(format: "| transcript | utterances | mean C |\n|---|---:|---:|\n| human responses, own persona | %d | %.3f |\n"
                     + "| human responses, random other persona | %d | %.3f |\n| contradiction transcript (own persona) | %d | %.3f |",
                     c.own.count, ConsistencyScorer.meanScore(c.own), c.other.count, ConsistencyScorer.meanScore(c.other),
                     c.contradiction.count, ConsistencyScorer.meanScore(c.contradiction)))
        print("contradiction transcript: \(c.dropped) responses dropped (no persona sentence with a negation rule)")
        if let signature = nli.signature { print("scorer: \(signature.line)") }
        print(String(format: "%d NLI pairs in %.1f s (%.0f pairs/s)", c.pairs, seconds, Double(c.pairs) / seconds))
    }
}
