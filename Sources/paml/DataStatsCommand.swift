import ArgumentParser
import Foundation
import Text

/// `paml data stats`: the persona meta-dataset's size per split and per source.
struct DataStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Personas, dialogues, dialogues per persona and turns of the persona meta-dataset, per split and source.",
        discussion: """
        Reads ConvAI2 valid (self + other), Synthetic-Persona-Chat valid/test and the persona maps; every \
        dialogue side is one dialogue of its persona's cluster (see Corpora/README.md).
        """
    )

    @OptionGroup var dataOptions: DataOptions
    @Flag(name: .long, help: "Print JSON instead of a table.") var json = false
    @Option(name: .long, help: "Least number of shared normalised sentences for a persona to join a cluster.") var minimumOverlap = 2

    func validate() throws { try OptionCheck.within(minimumOverlap, 0...100, "--minimum-overlap") }
    @Option(name: .long, help: "Seed for the cluster split and the order of dialogues within a persona.") var seed: UInt64 = 0
    @Flag(name: .long, help: "Use the persona maps' own split membership (meta-train is empty without the Persona-Chat train split).")
    var mapSplits = false

    struct Report: Codable {
        struct Row: Codable {
            var split: String
            var source: String
            var statistics: MetaDatasetStatistics
        }
        var rows: [Row]
        var unmatchedPersonas: Int
        var unmatchedSides: Int
        var spcSkippedLines: Int
        var spcContinuationLines: Int
        var spcUntaggedConversations: Int
        var spcEmptyConversations: Int
    }

    func run() throws {
        let (dataset, dialogues, repairs) = try PersonaMetaDataset.load(root: dataOptions.corpusRoot, minimumOverlap: minimumOverlap,
                                                                        policy: mapSplits ? .personaMaps : .standard, seed: seed)
        let sources = Array(Set(dialogues.map(\.source))).sorted()
        var rows: [Report.Row] = []
        for split in MetaSplit.allCases {
            let tasks = dataset.tasks(in: split)
            rows.append(.init(split: split.rawValue, source: "all", statistics: MetaDatasetStatistics(tasks)))
            for source in sources {
                rows.append(.init(split: split.rawValue, source: source, statistics: MetaDatasetStatistics(tasks, source: source)))
            }
        }
        let report = Report(rows: rows, unmatchedPersonas: dataset.unmatchedPersonas, unmatchedSides: dataset.unmatchedSides,
                            spcSkippedLines: repairs.skippedLines, spcContinuationLines: repairs.continuationLines,
                            spcUntaggedConversations: repairs.untaggedConversations, spcEmptyConversations: repairs.emptyConversations)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print(Self.table(report))
    }

    static func table(_ report: Report) -> String {
        var lines = ["| split | source | personas | dialogues | dialogues/persona mean | min | max | turns (examples) |",
                     "|---|---|---:|---:|---:|---:|---:|---:|"]
        for row in report.rows {
            let s = row.statistics
            lines.append("| \(row.split) | \(row.source) | \(s.personas) | \(s.dialogues) | \(String(format: "%.2f", s.dialoguesPerPersonaMean)) | \(s.dialoguesPerPersonaMin) | \(s.dialoguesPerPersonaMax) | \(s.examples) |")
        }
        lines.append("")
        lines.append("Personas matching no persona-map cluster: \(report.unmatchedPersonas) (\(report.unmatchedSides) dialogue sides), kept as their own clusters.")
        lines.append("Synthetic-Persona-Chat repairs: \(report.spcSkippedLines) untagged lines skipped, \(report.spcContinuationLines) joined to the previous turn, \(report.spcUntaggedConversations) untagged conversations read as alternating lines, \(report.spcEmptyConversations) empty conversations dropped.")
        return lines.joined(separator: "\n")
    }
}
