import ArgumentParser
import Foundation
import Tensor
import Text

/// Where the real corpora are: --data, else $PAML_DATA, else ../shared/corpora.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: "Folder with the corpora (personachat/, glove/, nli/, crs/). Default: $PAML_DATA or ../shared/corpora.")
    var data: String?

    var corpusRoot: CorpusRoot { CorpusRoot(explicit: data) }

    func validate() throws {
        let root = corpusRoot
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root.url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("corpus folder \(root.url.path) not found (\(root.origin)); pass --data or set PAML_DATA")
        }
    }
}

/// A path the user typed, or a default such as "Checkpoints/paml", resolved so that shipped files are found
/// from any working folder: absolute paths and paths that exist here are kept; otherwise a path that
/// exists under the package folder ($PAML_HOME or the binary's package) is used.
func resolvedInput(_ path: String) -> URL {
    let here = URL(fileURLWithPath: path)
    if path.hasPrefix("/") || FileManager.default.fileExists(atPath: here.path) { return here }
    let shipped = PamlHome.shipped(path)
    return FileManager.default.fileExists(atPath: shipped.path) ? shipped : here
}

/// Where a command writes. Defaults are under runs/; a folder inside Checkpoints/ or Evaluation/ (what the
/// tool ships) is refused unless --force is given, so no default run can overwrite a shipped model or table.
struct OutputOptions: ParsableArguments {
    @Flag(help: "Allow --out inside Checkpoints/ or Evaluation/ (the files the tool ships).")
    var force = false

    /// `path` as a URL, after the protected-folder check.
    func writable(_ path: String, option: String = "--out") throws -> URL {
        let url = URL(fileURLWithPath: path)
        if let protected = PamlHome.protectedFolder(containing: url), !force {
            throw ValidationError("\(option) \(path) is inside \(protected), which holds shipped files; "
                                  + "write elsewhere (the default is under runs/) or pass --force to replace them")
        }
        return url
    }
}

/// Maps a library `ConfigError` to the command line's message for `option`.
func checked(_ option: String, _ body: () throws -> Void) throws {
    do { try body() } catch let error as ConfigError {
        throw ValidationError("\(option) \(error.value): must be \(error.allowed)")
    }
}

/// Range checks for options that no library config owns; each names the option.
enum OptionCheck {
    static func atLeast(_ value: Int, _ minimum: Int, _ option: String) throws {
        try checked(option) { try Check.atLeast(value, minimum, option) }
    }
    static func within(_ value: Int, _ range: ClosedRange<Int>, _ option: String) throws {
        try checked(option) { try Check.within(value, range, option) }
    }
    static func positive(_ value: Float, _ option: String, upTo upper: Float = .greatestFiniteMagnitude) throws {
        try checked(option) { try Check.positive(value, option, upTo: upper) }
    }
    static func finite(_ value: Float, _ option: String, from lower: Float, to upper: Float = .greatestFiniteMagnitude) throws {
        try checked(option) { try Check.finite(value, option, from: lower, to: upper) }
    }
}
