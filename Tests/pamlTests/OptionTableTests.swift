import ArgumentParser
import Foundation
import XCTest
@testable import paml

/// Every numeric option of every command at 0, -1, NaN, Inf and huge values: each is refused by argument
/// validation with a message naming the option, or is one of the reviewed values below that the command
/// handles correctly. A new option that accepts such a value without review fails here.
final class OptionTableTests: XCTestCase {
    /// Arguments a command needs before any option can be judged (required options, an existing --data folder).
    static func base(_ path: [String], data: String) -> [String] {
        var args = path
        switch path.joined(separator: " ") {
        case "experiment kshot": args += ["--dialogue", "d", "--paml", "p"]
        case "experiment consistency": args += ["--dialogue", "d"]
        case "experiment curves": args += ["--run", "a=b"]
        case "bleu": args += ["--hypotheses", "h", "--references", "r"]
        case "score": args += ["--transcript", "t"]
        case "adapt": args += ["--persona", "p.jsonl"]
        default: break
        }
        return args
    }

    /// (command, option, value) triples that are accepted on purpose, with why.
    static let reviewed: Set<String> = [
        // seeds: any 64-bit value is a seed
        "*--seed 0", "*--data-seed 0", "*--train-seed 0", "*--split-seed 0", "*--persona-seed 0",
        // 0 means "none" or "off" for these
        "* --adapt-steps 0", "* --adapt-gradient-clip 0", "* --inner-gradient-clip 0", "* --style-steps 0",
        "* --style-lr 0", "* --adapt-lr 0", "* --transcripts 0", "* --limit 0", "* --persona-pairs 0",
        "experiment kshot --bleu-turns 0", "experiment kshot --no-trans-gate-steps 0", "recommend experiment --no-trans-gate-steps 0",
        "recommend train --select-every 0", "recommend experiment --global-memory-steps 0", "recommend experiment --paper-steps 0", "recommend experiment --no-mean-steps 0",
        "nli human --dialogues 0", "bleu --width 0", "train --dropout 0", "train --label-smoothing 0",
        // add-k / floor smoothing with 0 is sacreBLEU's "no smoothing" value
        "bleu --smooth-value 0",
        // data stats and glove-coverage only count; their minimum overlap / count of 0 is a legal query
        "data stats --minimum-overlap 0", "data glove-coverage --min-count 0", "data glove-coverage --max-size 0",
        // k = 0 (no adaptation) is part of every k-shot curve; 0 adaptation episodes is the CRS curve's first point
        "train --validation-shots 0", "experiment kshot --shots 0", "experiment consistency --shots 0", "experiment consistency --block-ngram 0", "experiment consistency --also-block-ngram 0", "recommend experiment --support-sizes 0",
        "recommend voices --shots 0",
        // 0 meta-steps: the supervised speaker training, not the meta-training stage
        "recommend train-speaker --meta-steps 0",
        // a gradient clip larger than any gradient norm is "no clip": any finite value >= 0 is meaningful
        "* --adapt-gradient-clip 1e30", "* --adapt-gradient-clip 99999999999999999999",
        "* --inner-gradient-clip 1e30", "* --inner-gradient-clip 99999999999999999999",
        "* --adapt-clip 0", "* --adapt-clip 1e30", "* --adapt-clip 99999999999999999999",
    ]

    func optionsByCommand() throws -> [(path: [String], options: [String])] {
        let binary = try pamlBinary()
        let process = Process()
        process.executableURL = binary
        process.arguments = ["--experimental-dump-help"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let root = try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["command"] as? [String: Any])
        var out: [(path: [String], options: [String])] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            let subcommands = command["subcommands"] as? [[String: Any]] ?? []
            if subcommands.isEmpty || path == ["recommend"] {
                let options = (command["arguments"] as? [[String: Any]] ?? []).compactMap { argument -> String? in
                    guard argument["kind"] as? String == "option",
                          let name = (argument["names"] as? [[String: Any]])?.first(where: { $0["kind"] as? String == "long" })?["name"] as? String
                    else { return nil }
                    return "--" + name
                }
                if !path.isEmpty, path != ["help"] { out.append((path, options)) }
            }
            for sub in subcommands { walk(sub, path + [sub["commandName"] as? String ?? "?"]) }
        }
        walk(root, [])
        return out
    }

    func testNumericOptionsRefuseZeroNegativeNaNAndHugeValues() throws {
        let data = FileManager.default.temporaryDirectory.path
        var judged = 0, numeric = 0
        var accepted: [String] = []
        for (path, options) in try optionsByCommand() {
            let base = Self.base(path, data: data) + (options.contains("--data") ? ["--data", data] : [])
            XCTAssertNoThrow(try Paml.parseAsRoot(base), "base arguments of \(path) must parse: \(base)")
            for option in options where option != "--data" {
                // Only options whose value must be a number (or a fixed choice) reject "abc".
                guard (try? Paml.parseAsRoot(base + [option, "abc"])) == nil else { continue }
                numeric += 1
                for value in ["0", "-1", "nan", "inf", "1e30", "99999999999999999999"] {
                    judged += 1
                    let key = "\(path.joined(separator: " ")) \(option) \(value)"
                    do {
                        _ = try Paml.parseAsRoot(base + ["\(option)=\(value)"])
                        let wildcard = ["* \(option) \(value)", "*\(option) \(value)"]
                        if !Self.reviewed.contains(key) && wildcard.allSatisfy({ !Self.reviewed.contains($0) }) {
                            accepted.append(key)
                        }
                    } catch {
                        let message = Paml.message(for: error)
                        XCTAssertFalse(message.isEmpty, key)
                        XCTAssertFalse(message.contains("\n\n"), "\(key): a one-paragraph message expected: \(message)")
                    }
                }
            }
        }
        XCTAssertEqual(accepted, [], "accepted without review")
        XCTAssertGreaterThan(numeric, 80, "the table should cover every numeric option (found \(numeric))")
        XCTAssertGreaterThan(judged, 500)
    }
}

/// The debug (or release) `paml` binary built next to the tests.
func pamlBinary() throws -> URL {
    let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    for configuration in ["debug", "release"] {
        let url = packageRoot.appendingPathComponent(".build/\(configuration)/paml")
        if FileManager.default.isExecutableFile(atPath: url.path) { return url }
    }
    throw XCTSkip("no built paml binary under .build/ (swift build --build-tests builds it)")
}
