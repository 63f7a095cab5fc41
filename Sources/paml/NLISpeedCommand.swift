import ArgumentParser
import Foundation
import NLI
import Text

struct NLISpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Time C for N human ConvAI2 responses x 5 persona sentences (N x 5 NLI pairs)."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var model: NLIModelOptions

    @Option(name: .long, help: "ConvAI2 file under --data.")
    var file = "personachat/valid_self_original_no_cands.txt"
    @Option(name: .long, help: "Utterances scored.")
    var utterances = 1000
    @Option(name: .long, help: "Pairs packed into one forward pass.")
    var batchSize = 512

    func validate() throws {
        try OptionCheck.within(utterances, 1...1_000_000, "--utterances")
        try OptionCheck.within(batchSize, 1...65_536, "--batch-size")
    }

    func run() throws {
        let episodes = try ConvAI2.readEpisodes(data.corpusRoot.file(file), personaPrefix: "your persona:")
        var nli = try model.load()
        nli.batchSize = batchSize
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
        guard let r = NLISpeed.measure(episodes: episodes, utterances: utterances, model: nli) else {
            throw ValidationError("\(file) has fewer than \(utterances) responses")
        }
        print(String(format: "%d utterances x 5 persona sentences = %d pairs (%d distinct, %d tokens) in %.1f s (%.0f pairs/s), "
                     + "CPU %.1f s (user+sys, all threads), ", r.utterances, r.pairs, r.distinct, r.tokens, r.seconds,
                     Double(r.pairs) / r.seconds, r.cpuSeconds)
              + "load average before \(load), mean C " + String(format: "%.3f", r.meanC))
    }
}
