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

    struct Line: Encodable {
        struct Side: Encodable {
            var source: String
            var dialogueIndex: Int
            var speaker: Int
            var persona: [String]
            var turns: [[String]]   // [partner's last turn, response]
        }
        var id: String
        var split: String
        var sources: [String]
        var persona: [String]
        var dialogueCount: Int
        var dialogues: [Side]?
    }

    func run() throws {
        let dataset = try personaData.load()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for task in dataset.tasks(in: split) {
            let sides = task.dialogues.map { side in
                Line.Side(source: side.source, dialogueIndex: side.dialogueIndex, speaker: side.speaker, persona: side.persona,
                          turns: side.examples.map { [$0.history.last ?? "", $0.response] })
            }
            let line = Line(id: task.id, split: split.rawValue, sources: Array(Set(task.dialogues.map(\.source))).sorted(),
                            persona: task.dialogues.first?.persona ?? [], dialogueCount: task.dialogues.count,
                            dialogues: dialogues ? sides : nil)
            print(String(decoding: try encoder.encode(line), as: UTF8.self))
        }
    }
}

extension MetaSplit: ExpressibleByArgument {}
