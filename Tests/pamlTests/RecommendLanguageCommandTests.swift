import ArgumentParser
import Foundation
import Recommender
import TestSupport
import XCTest
import SpokenRecommender
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

    /// A scripted person: names rock, refuses every question, takes the first recommendation offered.
    func testScriptedSessionEndsWithARealArtist() throws {
        guard let corpora else { throw XCTSkip("corpora/crs/lastfm not found") }
        let d = try CRSDataset.load(directory: URL(fileURLWithPath: corpora + "/crs/lastfm"))
        for policy in [["--max-entropy"], []] {
            let parsed = try Paml.parseAsRoot(["recommend", "--interactive", "--language-checkpoint", "templates",
                                               "--rules-only", "--data", corpora] + policy)
            let command = try XCTUnwrap(parsed as? RecommendInteractive)
            XCTAssertTrue(command.interactive)
            var output: [String] = []
            var opened = false
            let episode = try command.converse(input: {
                if !opened { opened = true; return "I mostly listen to rock." }
                return output.last { $0.hasPrefix("system:") }!.contains("Would you like to listen") ? "Yes, I'll take the first one!" : "no"
            }, output: { output.append($0) })
            let log = output.joined(separator: "\n")
            XCTAssertTrue(output[0].hasPrefix("system: Hi!"), output[0])
            XCTAssertTrue(output.contains { $0.contains("(noted: rock;") }, log)
            XCTAssertTrue(episode.succeeded, log)
            guard case .recommend(let items) = episode.turns.last!.action else { return XCTFail("the last turn must recommend") }
            for item in items.prefix(3) { XCTAssertTrue(episode.turns.last!.system.contains(d.itemLabel(item)), episode.turns.last!.system) }
            XCTAssertEqual(episode.accepted, items.first)
            XCTAssertEqual(output.last, "system: Enjoy \(d.itemLabel(items[0]))!")
            // Every ask names a real attribute, and no recommended artist has an attribute the person refused.
            var refused: UInt64 = 0
            for turn in episode.turns.dropLast() {
                switch turn.action {
                case .ask(let a):
                    XCTAssertTrue(turn.system.contains(d.attributeLabel(a)), turn.system)
                    XCTAssertEqual(turn.reading.intent, .reject)
                    refused |= 1 << UInt64(a)
                case .recommend: break
                }
            }
            for item in items { XCTAssertEqual(d.itemMasks[item] & refused, 0, "\(d.itemLabel(item)) has a refused attribute\n\(log)") }
            if policy.isEmpty { XCTAssertLessThan(episode.turns.count, 9, "the learned policy recommends early\n\(log)") }
        }
    }

    /// "do you have any recommendations yet?" is a request, not a yes: the next turn recommends.
    func testARequestForRecommendationsGetsOne() throws {
        guard let corpora else { throw XCTSkip("corpora/crs/lastfm not found") }
        let command = try XCTUnwrap(try Paml.parseAsRoot(["recommend", "interactive", "--language-checkpoint", "templates",
                                                          "--rules-only", "--max-entropy", "--data", corpora]) as? RecommendInteractive)
        var script = ["I like pop", "do you have any recommendations yet?", "yes please"]
        var output: [String] = []
        let episode = try command.converse(input: { script.isEmpty ? nil : script.removeFirst() }, output: { output.append($0) })
        XCTAssertEqual(episode.turns.count, 2, output.joined(separator: "\n"))
        XCTAssertEqual(episode.turns[0].reading.decidedBy, "request")
        guard case .recommend = episode.turns[1].action else { return XCTFail("a recommendation must follow the request") }
        XCTAssertTrue(episode.turns[1].system.hasSuffix("?"), episode.turns[1].system)
        XCTAssertTrue(episode.succeeded)
        XCTAssertFalse(ReplyReader.asksForRecommendations("yes, I love rock"))
        XCTAssertTrue(ReplyReader.asksForRecommendations("Just give me some suggestions"))
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
