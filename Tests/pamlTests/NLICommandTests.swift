import ArgumentParser
import Foundation
import XCTest
@testable import paml

/// `paml nli ...` and `paml score`: reachable, with help, and argument errors with a reason.
final class NLICommandTests: XCTestCase {
    func testNLICommandsHaveHelp() {
        let commands: [(path: String, type: ParsableCommand.Type)] = [
            ("nli train", NLITrainCommand.self), ("nli evaluate", NLIEvaluateCommand.self),
            ("nli human", NLIHumanCommand.self), ("nli speed", NLISpeedCommand.self), ("score", ScoreCommand.self),
        ]
        for (path, type) in commands {
            let help = Paml.helpMessage(for: type)
            XCTAssertTrue(help.contains("USAGE: paml \(path)"), "help of \(path):\n\(help)")
            XCTAssertFalse(type.configuration.abstract.isEmpty, "\(path) has no abstract")
        }
        XCTAssertTrue(Paml.helpMessage().contains("  nli"))
        XCTAssertTrue(Paml.helpMessage().contains("  score"))
    }

    func testBadNLIArgumentsAreRejected() {
        // An existing --data folder, so that these checks do not depend on where ../shared/corpora is.
        let data = FileManager.default.temporaryDirectory.path
        XCTAssertThrowsError(try Paml.parseAsRoot(["score"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("--transcript"), Paml.message(for: error))
        }
        XCTAssertThrowsError(try Paml.parseAsRoot(["nli", "train", "--trained-layers", "9", "--data", data])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("--trained-layers 9"), Paml.message(for: error))
        }
        XCTAssertThrowsError(try Paml.parseAsRoot(["nli", "evaluate", "--on", "dev", "--data", data])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("'persona-test'"), Paml.message(for: error))
        }
    }

    /// --rerank-nli re-ranks beam hypotheses against a persona: it needs beam decoding and --persona.
    func testRerankOptionNeedsBeamAndPersona() throws {
        XCTAssertTrue(Paml.helpMessage(for: GenerateCommand.self).contains("--rerank-nli"))
        XCTAssertTrue(Paml.helpMessage(for: GenerateCommand.self).contains("--nli-checkpoint <nli-checkpoint>"))
        XCTAssertThrowsError(try Paml.parseAsRoot(["generate", "--rerank-nli", "--persona", "p.jsonl",
                                                   "--decoding", "greedy"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("--decoding beam"), Paml.message(for: error))
        }
        XCTAssertThrowsError(try Paml.parseAsRoot(["chat", "--rerank-nli"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("--persona"), Paml.message(for: error))
        }
        let command = try XCTUnwrap(Paml.parseAsRoot(["generate", "--rerank-nli", "--nli-checkpoint", "elsewhere/nli",
                                                      "--persona", "p.jsonl"]) as? GenerateCommand)
        XCTAssertTrue(command.options.rerankNli)
        XCTAssertEqual(command.options.nliCheckpoint, "elsewhere/nli")
        XCTAssertFalse(try XCTUnwrap(Paml.parseAsRoot(["generate"]) as? GenerateCommand).options.rerankNli, "off by default")
    }
}
