import ArgumentParser

/// `paml data ...`: inspect the corpora.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Inspect the corpora and the persona meta-dataset.",
        subcommands: [DataStatsCommand.self, DataPersonasCommand.self, DataQuestionsCommand.self, GloveCoverageCommand.self]
    )
}
