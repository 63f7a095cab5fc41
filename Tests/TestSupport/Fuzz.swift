import Foundation
import Tensor
import XCTest

/// Seeded random mutations of a valid input file, for reader fuzzing: each reader must either read the
/// mutant or throw an error; a trap (crash) fails the whole test run. The count per reader is
/// `Fuzz.iterations(default)`, or $PAML_FUZZ_ITERATIONS for a longer run.
public enum Fuzz {
    public static func iterations(_ standard: Int) -> Int {
        ProcessInfo.processInfo.environment["PAML_FUZZ_ITERATIONS"].flatMap(Int.init) ?? standard
    }

    /// Byte strings that break readers in interesting ways (quotes, brackets, separators, CR, invalid UTF-8,
    /// NUL, huge and non-finite numbers).
    static let tokens: [[UInt8]] = ["\"", "{", "}", "[", "]", ",", ":", "\t", "\n", "\r\n", "\r", " ", "\\", "null",
                                    "-1", "0", "1e400", "NaN", "99999999999999999999", "your persona:", "partner's persona:",
                                    "1 ", "\u{0}", "é", "\u{FEFF}"].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xFE, 0xFF]]

    /// `count` mutants of `original`, each 1-4 edits: flip a bit, delete, duplicate or truncate a span,
    /// insert a token, or swap two lines.
    public static func mutants(of original: Data, count: Int, seed: UInt64) -> [Data] {
        var rng = SeededGenerator(seed: seed)
        func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(rng.next() % UInt64(n)) }
        return (0..<count).map { _ in
            var bytes = [UInt8](original)
            for _ in 0...below(4) {
                let at = below(bytes.count + 1)
                switch below(6) {
                case 0 where !bytes.isEmpty:
                    let i = min(at, bytes.count - 1)
                    bytes[i] ^= UInt8(1) << UInt8(below(8))
                case 1 where !bytes.isEmpty:
                    bytes.removeSubrange(min(at, bytes.count)..<min(bytes.count, at + 1 + below(16)))
                case 2:
                    let span = bytes[min(at, bytes.count)..<min(bytes.count, at + 1 + below(64))]
                    bytes.insert(contentsOf: Array(span), at: min(at, bytes.count))
                case 3:
                    bytes.removeSubrange(min(at, bytes.count)...)
                case 4:
                    bytes.insert(contentsOf: tokens[below(tokens.count)], at: at)
                default:
                    var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                    if lines.count > 1 { lines.swapAt(below(lines.count), below(lines.count)) }
                    bytes = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
                }
            }
            return Data(bytes)
        }
    }

    /// Runs `read` on every mutant written to `file` (the extension matters to some readers); returns how many
    /// were read and how many were refused. Fails the test when an error is not one of the reader's own
    /// typed errors (`accepts`), i.e. when a raw Foundation error or an unexpected type escapes.
    @discardableResult
    public static func run(_ original: Data, file: URL, count: Int, seed: UInt64,
                           accepts: (Error) -> Bool, read: (URL) throws -> Void,
                           sourceFile: StaticString = #filePath, line: UInt = #line) -> (read: Int, refused: Int) {
        var (read_, refused) = (0, 0)
        for (i, mutant) in mutants(of: original, count: count, seed: seed).enumerated() {
            try? mutant.write(to: file)
            do {
                try read(file)
                read_ += 1
            } catch {
                refused += 1
                if !accepts(error) {
                    XCTFail("mutant \(i): unexpected error \(type(of: error)): \(error)", file: sourceFile, line: line)
                    break
                }
                let message = "\(error)"
                if message.isEmpty || message.contains("NSCocoaErrorDomain") {
                    XCTFail("mutant \(i): unhelpful message \(message.debugDescription)", file: sourceFile, line: line)
                    break
                }
            }
        }
        return (read_, refused)
    }
}

/// A fresh empty folder under the system temporary folder, removed by `remove()` (call it in `defer`).
public struct TemporaryFolder {
    public let url: URL
    public init(_ label: String = "paml-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    public func file(_ name: String) -> URL { url.appendingPathComponent(name) }
    public func remove() { try? FileManager.default.removeItem(at: url) }
}
