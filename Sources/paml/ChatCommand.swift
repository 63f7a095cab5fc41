import ArgumentParser
import Experiments
import Foundation

/// `paml chat`: talk with a (persona-adapted) model in the terminal.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with the dialogue model, adapted to a persona from a few of its dialogues.",
        discussion: "Type a line and press return; an empty line or end of input quits. Default model: Checkpoints/paml."
    )

    @OptionGroup var options: GenerationOptions

    func run() throws {
        let (loaded, parameters, persona) = try options.loadAdapted()
        let reranker = try options.loadReranker()
        var history: [String] = []
        print("[\(loaded.config.system.rawValue) model from \(loaded.folder?.path ?? options.checkpoint); empty line to quit]")
        while true {
            print("you> ", terminator: "")
            fflush(stdout)
            guard let line = readLine(), !line.trimmingCharacters(in: .whitespaces).isEmpty else { break }
            history.append(line)
            let answer = respond(loaded, parameters, history: history, persona: persona, strategy: options.strategy, seed: options.seed,
                                 reranker: reranker, log: { print("     \($0)") })
            history.append(answer)
            print("bot> \(answer)")
        }
    }
}
