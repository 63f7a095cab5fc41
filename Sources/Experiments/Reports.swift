import Foundation

/// The command as typed (`paml ...`), quoted where needed, for the reports that say which command made them.
public func commandLine() -> String {
    "paml " + CommandLine.arguments.dropFirst().map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
}

/// Writes report files (name -> contents) into `folder`, each atomically, plus the job's config as
/// `<job>-config.json` next to them, and says what it wrote.
public func writeReport<Config: Encodable>(_ files: [String: Data], config: Config, to folder: URL, job: String) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    for (name, data) in files.merging(["\(job)-config.json": try encoder.encode(config)], uniquingKeysWith: { a, _ in a }) {
        try data.write(to: folder.appendingPathComponent(name), options: .atomic)
    }
    print("wrote " + files.keys.sorted().map { "\(folder.path)/\($0)" }.joined(separator: ", ") + ", \(job)-config.json")
}
