import ArgumentParser
import Experiments
import Foundation
import Text

/// `paml generate`: one response per input line (each line is the partner's turn of a running dialogue,
/// or with --independent a separate one-turn history).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate responses for input lines (stdin or --input), optionally persona-adapted."
    )

    @OptionGroup var options: GenerationOptions
    @Option(help: "File of input turns, one a line (default: standard input); a blank line gives a blank output line.") var input: String?
    @Flag(help: "Treat every line as its own dialogue instead of one running dialogue.") var independent = false
    @Flag(help: "With --rerank-nli: print every beam hypothesis with its score, C and NLI labels to standard error.")
    var showBeam = false

    func run() throws {
        let (loaded, parameters, persona) = try options.loadAdapted()
        let reranker = try options.loadReranker()
        let text = try input.map { try TextFile.string(URL(fileURLWithPath: $0)) }
            ?? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        var history: [String] = []
        // One output line per input line, so outputs stay aligned with inputs (CRLF or LF).
        for line in TextFile.lines(text).map(String.init) {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { print(""); continue }
            if independent { history = [] }
            history.append(line)
            let answer = respond(loaded, parameters, history: history, persona: persona, strategy: options.strategy, seed: options.seed, reranker: reranker,
                                 log: showBeam ? { FileHandle.standardError.write(Data(("  " + $0 + "\n").utf8)) } : nil)
            history.append(answer)
            print(answer)
        }
    }
}
