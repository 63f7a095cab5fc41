import Foundation

/// The folder holding the real corpora. Resolved once: an explicit path (a --data flag), else the
/// PAML_DATA environment variable, else ../shared/corpora relative to the working directory, or failing
/// that relative to the package folder (`PamlHome`).
public struct CorpusRoot: Sendable {
    public let url: URL
    /// Which rule picked the folder, for error messages.
    public let origin: String

    public init(explicit: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let explicit {
            url = URL(fileURLWithPath: explicit)
            origin = "--data"
        } else if let fromEnvironment = environment["PAML_DATA"], !fromEnvironment.isEmpty {
            url = URL(fileURLWithPath: fromEnvironment)
            origin = "PAML_DATA"
        } else {
            let local = URL(fileURLWithPath: "../shared/corpora")
            let beside = PamlHome.folder().appendingPathComponent("../shared/corpora").standardizedFileURL
            url = FileManager.default.fileExists(atPath: local.path) || !FileManager.default.fileExists(atPath: beside.path) ? local : beside
            origin = "default ../shared/corpora"
        }
    }

    /// A file or folder inside the corpus root, e.g. `file("personachat/spc_valid.csv")`.
    public func file(_ relativePath: String) -> URL { url.appendingPathComponent(relativePath) }
}
