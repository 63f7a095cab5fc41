import Foundation
import XCTest

/// The built `paml` run as a user runs it, on damaged models, bad input files and default output paths:
/// every case ends with a non-zero exit and a one-line "Error: ..." naming the problem (never a trap,
/// exit 132-139), or with the correct result; and no command run with its defaults touches Checkpoints/ or
/// Evaluation/.
final class FaultTests: XCTestCase {
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("paml-fault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    struct Outcome {
        var status: Int32
        var output: String
        var error: String
    }

    /// Runs paml with `arguments`, `input` on standard input, in `directory`, with extra environment.
    func paml(_ arguments: [String], input: String = "", in directory: URL? = nil, environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = try pamlBinary()
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? packageRoot
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let (stdin, stdout, stderr) = (Pipe(), Pipe(), Pipe())
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, output: String(decoding: output, as: UTF8.self),
                       error: String(decoding: error, as: UTF8.self))
    }

    /// The run failed cleanly: exit 1 or 64, no trap, and an "Error:" line containing `expected`.
    func assertRefused(_ outcome: Outcome, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue([1, 64].contains(outcome.status), "exit \(outcome.status): \(outcome.error)", file: file, line: line)
        let errorLine = outcome.error.split(separator: "\n").first { $0.hasPrefix("Error: ") }.map(String.init) ?? ""
        XCTAssertTrue(errorLine.contains(expected), "expected \(expected.debugDescription) in \(outcome.error.debugDescription)", file: file, line: line)
        XCTAssertFalse(outcome.error.contains("NSCocoaErrorDomain"), outcome.error, file: file, line: line)
    }

    /// A copy of the shipped PAML checkpoint, damaged by `damage`.
    func damagedModel(_ name: String, _ damage: (URL) throws -> Void) throws -> String {
        let copy = folder.appendingPathComponent(name)
        try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("Checkpoints/paml"), to: copy)
        try damage(copy)
        return copy.path
    }

    func weights(_ model: URL) throws -> URL {
        model.appendingPathComponent(try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: model.path)
            .first { $0.hasPrefix("model-") && $0.hasSuffix(".safetensors") }))
    }

    func testDamagedModelsAreRefusedNotAnswered() throws {
        let flipped = try damagedModel("flip") { model in
            let url = try weights(model)
            var bytes = [UInt8](try Data(contentsOf: url))
            bytes[bytes.count - 1000] ^= 0x40   // an exponent bit: a finite, wildly wrong weight
            try Data(bytes).write(to: url)
        }
        assertRefused(try paml(["generate", "--checkpoint", flipped], input: "hi\n"), "the file is damaged")

        let nan = try damagedModel("nan") { model in
            let url = try weights(model)
            var bytes = [UInt8](try Data(contentsOf: url))
            for i in 0..<4 { bytes[bytes.count - 4 + i] = [0x00, 0x00, 0xC0, 0x7F][i] }
            try Data(bytes).write(to: url)
            // Without a checksum, only the NaN check stands between the file and empty answers.
            let config = model.appendingPathComponent("config.json")
            let text = try String(contentsOf: config, encoding: .utf8)
            try text.split(separator: "\n").filter { !$0.contains("weightsChecksum") }.joined(separator: "\n")
                .replacingOccurrences(of: "\"weights\" : \"\(url.lastPathComponent)\",", with: "\"weights\" : \"\(url.lastPathComponent)\"")
                .write(to: config, atomically: true, encoding: .utf8)
        }
        assertRefused(try paml(["generate", "--checkpoint", nan], input: "hi\n"), "weights must be finite")

        let vocabulary = try damagedModel("vocab") { model in
            let url = model.appendingPathComponent("vocab.txt")
            let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").prefix(100)
            try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        }
        assertRefused(try paml(["generate", "--checkpoint", vocabulary], input: "hi\n"), "holds 100 words, but config.json says")

        for (name, from, to, expected) in [("heads0", "\"heads\" : 4", "\"heads\" : 0", "config.transformer.heads = 0"),
                                           ("heads3", "\"heads\" : 4", "\"heads\" : 3", "multiple of transformer.heads (3)"),
                                           ("width", "\"width\" : 300", "\"width\" : -300", "config.transformer.width = -300"),
                                           ("dropout", "\"layerDropout\" : 0.1", "\"layerDropout\" : 1.5", "config.transformer.layerDropout = 1.5")] {
            let model = try damagedModel(name) { model in
                let config = model.appendingPathComponent("config.json")
                let text = try String(contentsOf: config, encoding: .utf8)
                XCTAssertTrue(text.contains(from), "\(name): \(from) not in config.json")
                try text.replacingOccurrences(of: from, with: to).write(to: config, atomically: true, encoding: .utf8)
            }
            assertRefused(try paml(["generate", "--checkpoint", model], input: "hi\n"), expected)
        }
    }

    func testInputFilesGetFileAndLineMessages() throws {
        let persona = folder.appendingPathComponent("p.jsonl")
        for (text, expected) in [("{\"pairs\": []}\n", "p.jsonl:1: \"pairs\" is empty"),
                                 ("{\"persona\": \"i like cats\", \"pairs\": [[\"a\", \"b\"]]}\n", "p.jsonl:1: \"persona\" must be a list"),
                                 ("{\"pairs\": [[\"a\", \"b\"]]}\n{oops\n", "p.jsonl:2: not valid JSON")] {
            try text.write(to: persona, atomically: true, encoding: .utf8)
            assertRefused(try paml(["generate", "--persona", persona.path], input: "hi\n"), expected)
        }
        assertRefused(try paml(["generate", "--input", folder.appendingPathComponent("missing.txt").path]), "missing.txt: no such file")
        assertRefused(try paml(["generate", "--input", folder.path]), "is a folder")
        try Data([0x68, 0x69, 0x0A, 0xFF, 0xFE, 0x0A]).write(to: folder.appendingPathComponent("latin.txt"))
        assertRefused(try paml(["generate", "--input", folder.appendingPathComponent("latin.txt").path]), "latin.txt:2: not valid UTF-8")
        assertRefused(try paml(["score", "--transcript", folder.appendingPathComponent("none.jsonl").path]), "none.jsonl: no such file")
    }

    /// CRLF input, with a blank line: one output line per input line, in order.
    func testGenerateKeepsOneOutputPerInputLine() throws {
        let input = folder.appendingPathComponent("in.txt")
        try "hello there\r\n\r\nwhat do you do for work?\r\n".write(to: input, atomically: true, encoding: .utf8)
        let outcome = try paml(["generate", "--decoding", "greedy", "--input", input.path])
        XCTAssertEqual(outcome.status, 0, outcome.error)
        let lines = outcome.output.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        XCTAssertEqual(lines.count, 3, outcome.output)
        XCTAssertFalse(lines[0].isEmpty)
        XCTAssertTrue(lines[1].isEmpty)
        XCTAssertFalse(lines[2].isEmpty)
    }

    /// A learning rate that makes adaptation diverge stops with a message instead of answering with empty lines.
    func testDivergingAdaptationStops() throws {
        let persona = packageRoot.appendingPathComponent("Checkpoints/paml/example-persona.jsonl").path
        let outcome = try paml(["generate", "--persona", persona, "--adapt-lr", "10", "--adapt-gradient-clip", "0",
                                "--adapt-steps", "20"], input: "hi\n")
        assertRefused(outcome, "the adaptation loss became non-finite")
    }

    /// `paml --threads N <command>` sets the thread count of any command; a bad N is a message, not a trap.
    func testGlobalThreadsOption() throws {
        let ok = try paml(["--threads", "1", "--version"])
        XCTAssertEqual(ok.status, 0, ok.error)
        XCTAssertTrue(ok.output.contains("paml "), ok.output)
        assertRefused(try paml(["--threads", "0", "data", "stats"]), "--threads needs a whole number in 1...256")
        assertRefused(try paml(["--threads", "many", "data", "stats"]), "--threads needs a whole number")
    }

    /// `adapt` never writes over a model or a run.
    func testAdaptRefusesAFolderThatHoldsAModel() throws {
        let model = try damagedModel("target") { _ in }
        let persona = packageRoot.appendingPathComponent("Checkpoints/paml/example-persona.jsonl").path
        assertRefused(try paml(["adapt", "--persona", persona, "--out", model]), "already holds a model or training run")
    }

    /// Default training and experiment commands, run in a copy of the package, leave its Checkpoints/ and
    /// Evaluation/ byte for byte as they were, and write under runs/.
    func testDefaultCommandsNeverTouchShippedFiles() throws {
        let corpora = [ProcessInfo.processInfo.environment["PAML_DATA"], packageRoot.appendingPathComponent("../shared/corpora").path]
            .compactMap { $0 }.first { FileManager.default.fileExists(atPath: $0 + "/personachat") }
        guard let corpora else { throw XCTSkip("corpora not found") }
        let home = folder.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        for item in ["Checkpoints", "Evaluation", "Package.swift"] {
            try FileManager.default.copyItem(at: packageRoot.appendingPathComponent(item), to: home.appendingPathComponent(item))
        }
        func snapshot() throws -> [String: Data] {
            var files: [String: Data] = [:]
            for top in ["Checkpoints", "Evaluation"] {
                let root = home.appendingPathComponent(top)
                for case let path as String in FileManager.default.enumerator(atPath: root.path)! {
                    var isDirectory: ObjCBool = false
                    let url = root.appendingPathComponent(path)
                    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                        files[top + "/" + path] = try Data(contentsOf: url)
                    }
                }
            }
            return files
        }
        let before = try snapshot()
        let environment = ["PAML_HOME": home.path, "PAML_DATA": corpora]
        let persona = home.appendingPathComponent("Checkpoints/paml/example-persona.jsonl").path
        let runs: [[String]] = [
            ["train", "--steps", "1", "--layers", "1", "--width", "8", "--heads", "1", "--key-depth", "8", "--filter-size", "8",
             "--validation-examples", "8", "--batch-size", "4"],
            ["recommend", "train", "--steps", "1", "--dataset", "lastfm"],
            ["adapt", "--persona", persona, "--adapt-steps", "1"],
            ["experiment", "kshot", "--dialogue", "Checkpoints/paml", "--paml", "Checkpoints/paml", "--shots", "1000", "--no-consistency"],
        ]
        for arguments in runs {
            let outcome = try paml(arguments, in: home, environment: environment)
            XCTAssertFalse((132...139).contains(outcome.status), "\(arguments): trap \(outcome.status)")
            if arguments[0] != "experiment" { XCTAssertEqual(outcome.status, 0, "\(arguments): \(outcome.error)") }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: home.appendingPathComponent("runs/dialogue/config.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: home.appendingPathComponent("runs/crs-lastfm/metacrs/config.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: home.appendingPathComponent("runs/adapted/config.json").path))
        let after = try snapshot()
        XCTAssertEqual(Set(after.keys), Set(before.keys), "files appeared or vanished in Checkpoints/ or Evaluation/")
        for (path, data) in before where after[path] != data { XCTFail("\(path) changed") }
    }
}
