import ArgumentParser
import Foundation
import Recommender
import TestSupport
import XCTest
@testable import paml

/// `paml recommend --interactive` on a scripted standard input, and the help of the language subcommands.
final class RecommendLanguageCommandTests: XCTestCase {
    var corpora: String? { Corpora.crs("lastfm").map { $0.deletingLastPathComponent().deletingLastPathComponent().path } }

    func testHelpDescribesTheInteractiveMode() {
        let parent = Paml.helpMessage(for: RecommendCommand.self)
        XCTAssertTrue(parent.contains("paml recommend --interactive"), parent)
        XCTAssertTrue(parent.contains("interactive (default)"), parent)
        for (path, type) in [("recommend interactive", RecommendInteractive.self as ParsableCommand.Type),
                             ("recommend train-language", RecommendTrainLanguage.self),
                             ("recommend render", RecommendRender.self), ("recommend read-replies", RecommendReadReplies.self)] {
            XCTAssertTrue(Paml.helpMessage(for: type).contains("USAGE: paml \(path)"), path)
        }
        XCTAssertTrue(Paml.helpMessage(for: RecommendSimulate.self).contains("--language"))
        // --data names an existing folder so that the speech options are what fails.
        let folder = FileManager.default.temporaryDirectory.path
        XCTAssertThrowsError(try Paml.parseAsRoot(["recommend", "--interactive", "--data", folder,
                                                   "--speech-decoding", "nucleus"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("'top-k', 'greedy' or 'beam'"), Paml.message(for: error))
        }
    }

    /// A scripted person: names rock, refuses every question, accepts the recommendation on the last turn.
    func testScriptedSessionEndsWithARealArtist() throws {
        guard let corpora else { throw XCTSkip("corpora/crs/lastfm not found") }
        let parsed = try Paml.parseAsRoot(["recommend", "--interactive", "--language-checkpoint", "templates",
                                           "--rules-only", "--data", corpora])
        let command = try XCTUnwrap(parsed as? RecommendInteractive)
        XCTAssertTrue(command.interactive)
        var script = ["I mostly listen to rock."] + Array(repeating: "no", count: 9) + ["Yes, I'll take the first one!"]
        var output: [String] = []
        let episode = try command.converse(input: { script.isEmpty ? nil : script.removeFirst() }, output: { output.append($0) })
        XCTAssertTrue(script.isEmpty)
        XCTAssertTrue(output[0].hasPrefix("system: Hi!"), output[0])
        XCTAssertTrue(output.contains { $0.contains("(noted: rock;") }, output.joined(separator: "\n"))
        XCTAssertEqual(episode.turns.count, 10)
        XCTAssertTrue(episode.succeeded)
        XCTAssertEqual(episode.turns.prefix(9).map(\.reading.intent), Array(repeating: .reject, count: 9))
        guard case .recommend(let items) = episode.turns.last!.action else { return XCTFail("the last turn must recommend") }
        let d = try CRSDataset.load(directory: URL(fileURLWithPath: corpora + "/crs/lastfm"))
        for item in items.prefix(3) { XCTAssertTrue(episode.turns.last!.system.contains(d.itemLabel(item)), episode.turns.last!.system) }
        XCTAssertEqual(episode.accepted, items.first)
        XCTAssertEqual(output.last, "system: Enjoy \(d.itemLabel(items[0]))!")
        // Every ask names a real attribute.
        for turn in episode.turns.dropLast() {
            guard case .ask(let a) = turn.action else { return XCTFail("expected asks before the last turn") }
            XCTAssertTrue(turn.system.contains(d.attributeLabel(a)), turn.system)
        }
    }

    func testEndOfInputEndsTheSession() throws {
        guard let corpora else { throw XCTSkip("corpora/crs/lastfm not found") }
        let command = try XCTUnwrap(try Paml.parseAsRoot(["recommend", "interactive", "--language-checkpoint", "templates",
                                                          "--rules-only", "--data", corpora]) as? RecommendInteractive)
        var script = ["jazz please", "yes"]
        var output: [String] = []
        let episode = try command.converse(input: { script.isEmpty ? nil : script.removeFirst() }, output: { output.append($0) })
        XCTAssertEqual(episode.turns.count, 1)
        XCTAssertEqual(episode.turns[0].reading.intent, .accept)
        XCTAssertFalse(episode.succeeded)
        XCTAssertEqual(output.last, "(end of input)")
    }
}
