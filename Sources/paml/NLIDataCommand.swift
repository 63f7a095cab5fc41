import ArgumentParser
import Foundation
import NLI

/// `paml nli data`: builds the persona NLI pairs and writes them as TSV with counts per label and kind.
struct NLIDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Build the persona NLI pairs (entailment / neutral / contradiction from the persona corpora; no meta-test persona) as TSV."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var persona: PersonaNLIOptions
    @Option(name: .long, help: "Folder for train.tsv, valid.tsv, test.tsv and counts.md.") var out = "runs/persona-nli"
    @OptionGroup var output: OutputOptions

    func validate() throws { _ = try output.writable(out) }

    func run() throws {
        let folder = try output.writable(out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let split = try persona.load(data)
        for (name, examples) in [("train", split.train), ("valid", split.valid), ("test", split.test)] {
            try PersonaNLIGenerator.write(examples, to: folder.appendingPathComponent("\(name).tsv"))
        }
        let table = split.countsTable
        try Data(table.utf8).write(to: folder.appendingPathComponent("counts.md"), options: .atomic)
        print(table)
        print("wrote \(folder.path)/train.tsv, valid.tsv, test.tsv, counts.md")
    }
}
