import ArgumentParser
import Foundation
import Text

/// `paml data personas`: the personas (tasks) of one split of the meta-dataset, one JSON object a line.
struct DataPersonasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "personas",
        abstract: "List the personas of a meta-dataset split as JSONL: id, sources, persona sentences, and with --dialogues every turn.",
        discussion: "Use it to pick material from personas no model or scorer was trained on (--split test)."
    )

    @OptionGroup var personaData: PersonaDataOptions
    @Option(help: "Split: train, valid, test.") var split: MetaSplit = .test
    @Flag(help: "Include every dialogue side: its persona sentences and (history, response) turns.") var dialogues = false

    func run() throws {
        let dataset = try personaData.load()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for task in dataset.tasks(in: split) {
            print(String(decoding: try encoder.encode(PersonaTask.Listing(task, withDialogues: dialogues)), as: UTF8.self))
        }
    }
}

extension MetaSplit: ExpressibleByArgument {}
