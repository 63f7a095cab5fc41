import ArgumentParser
import Foundation
import NLI
import Text

/// `paml data questions`: the fact-recall probe's questions, mined from the meta-train dialogues.
struct DataQuestionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "questions",
        abstract: "List the questions the fact-recall probe asks, mined from meta-train dialogues, one JSON object a line.",
        discussion: "A question belongs to a topic (job, home, pets, ...) when the replies it got in the corpus state a fact of that topic."
    )

    @OptionGroup var personaData: PersonaDataOptions

    func run() throws {
        let dataset = try personaData.load()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        for question in PersonaQuestions.mine(dataset.tasks(in: .train)) {
            print(String(decoding: try encoder.encode(question), as: UTF8.self))
        }
    }
}
