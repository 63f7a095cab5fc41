import Foundation

/// Reading whole input files with errors a person can act on: the file, then "no such file", "is a
/// folder", "not valid UTF-8 (first bad byte at line L)" or "larger than N MB" instead of Foundation's
/// NSCocoaErrorDomain dumps. Lines are split on LF with a trailing CR removed, so CRLF files read the
/// same as LF files.
public enum TextFile {
    /// Files larger than this are refused (no reader here needs more; a mistaken path to a binary or a
    /// dump would otherwise be read whole).
    public static let defaultMaximumBytes = 512 << 20

    public static func data(_ url: URL, maximumBytes: Int = defaultMaximumBytes) throws -> Data {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TextError(file: path, "no such file")
        }
        guard !isDirectory.boolValue else { throw TextError(file: path, "is a folder, expected a file") }
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        guard size <= maximumBytes else {
            throw TextError(file: path, "\(size >> 20) MB, larger than the \(maximumBytes >> 20) MB this reader accepts")
        }
        do { return try Data(contentsOf: url) } catch {
            throw TextError(file: path, "cannot read (\((error as NSError).localizedFailureReason ?? "permission or I/O error"))")
        }
    }

    /// The file as UTF-8 text (a leading byte-order mark is dropped).
    public static func string(_ url: URL, maximumBytes: Int = defaultMaximumBytes) throws -> String {
        let bytes = try data(url, maximumBytes: maximumBytes)
        guard var text = String(data: bytes, encoding: .utf8) else {
            // Name the first line that is not UTF-8.
            var line = 1
            for chunk in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                if String(data: Data(chunk), encoding: .utf8) == nil { break }
                line += 1
            }
            throw TextError(file: url.path, line: line, "not valid UTF-8")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        return text
    }

    /// The lines of `text` split on LF, each without a trailing CR; a final newline does not make an
    /// extra empty line. Blank lines are kept, so line i of the result is line i + 1 of the file.
    public static func lines(_ text: String) -> [Substring] {
        // Swift reads "\r\n" as ONE Character, so splitting on "\n" alone would never split a CRLF file.
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
    }

    /// Whether `url` ends in one of `extensions` (without dots), ignoring case: "a.JSONL" is JSONL.
    public static func hasExtension(_ url: URL, _ extensions: [String]) -> Bool {
        extensions.contains(url.pathExtension.lowercased())
    }
}

/// Where the tool's shipped files (Checkpoints/, Evaluation/, Corpora/) are: $PAML_HOME if set, else the
/// package folder the running binary was built in (found by walking up from the executable to a folder
/// with Package.swift and Checkpoints/), else the working directory. So `paml chat` finds
/// Checkpoints/paml from any folder.
public enum PamlHome {
    public static let environmentVariable = "PAML_HOME"

    public static func folder(environment: [String: String] = ProcessInfo.processInfo.environment,
                              executable: String = CommandLine.arguments.first ?? "") -> URL {
        if let home = environment[environmentVariable], !home.isEmpty { return URL(fileURLWithPath: home) }
        var folder = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let manager = FileManager.default
            if manager.fileExists(atPath: folder.appendingPathComponent("Package.swift").path),
               manager.fileExists(atPath: folder.appendingPathComponent("Checkpoints").path) {
                return folder
            }
            folder = folder.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// A shipped path such as "Checkpoints/paml", under the home folder.
    public static func shipped(_ relativePath: String) -> URL { folder().appendingPathComponent(relativePath) }

    /// The folders whose contents ship with the tool; writing into them needs an explicit --force.
    public static let protectedFolders = ["Checkpoints", "Evaluation"]

    /// The protected folder `url` lies in (under the home folder or the working directory), if any.
    public static func protectedFolder(containing url: URL) -> String? {
        let path = url.standardizedFileURL.resolvingSymlinksInPath().path
        let roots = Set([folder(), URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
            .map { $0.standardizedFileURL.resolvingSymlinksInPath().path })
        for root in roots {
            for name in protectedFolders {
                let protected = root + "/" + name
                if path == protected || path.hasPrefix(protected + "/") { return protected }
            }
        }
        return nil
    }
}
