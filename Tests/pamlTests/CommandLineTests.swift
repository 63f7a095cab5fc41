import ArgumentParser
import Foundation
import Dialogue
import XCTest
@testable import paml

/// The tool's surface: every subcommand has help, and bad arguments are rejected with a message.
final class CommandLineTests: XCTestCase {
    let commands: [(path: String, type: ParsableCommand.Type)] = [
        ("data stats", DataStatsCommand.self), ("data glove-coverage", GloveCoverageCommand.self),
        ("train", TrainCommand.self), ("experiment kshot", KShotCommand.self), ("chat", ChatCommand.self),
        ("generate", GenerateCommand.self), ("adapt", AdaptCommand.self), ("bench core", BenchCore.self),
        ("bleu", BleuCommand.self), ("recommend simulate", RecommendSimulate.self),
        ("recommend train", RecommendTrain.self), ("recommend experiment", RecommendExperiment.self),
        ("bench dialogue", BenchDialogue.self), ("score", ScoreCommand.self),
    ]

    func testEverySubcommandIsReachableAndHasHelp() {
        for (path, type) in commands {
            let help = Paml.helpMessage(for: type)
            XCTAssertTrue(help.contains("USAGE: paml \(path)"), "help of \(path):\n\(help)")
            XCTAssertFalse(type.configuration.abstract.isEmpty, "\(path) has no abstract")
        }
        let root = Paml.helpMessage()
        for group in ["data", "train", "experiment", "chat", "generate", "adapt", "bench", "bleu", "recommend"] {
            XCTAssertTrue(root.contains("  \(group)"), "root help lacks \(group)")
        }
    }

    func testBadArgumentsAreRejectedWithAReason() {
        // An existing --data folder, so that these checks do not depend on where ../shared/corpora is.
        let data = FileManager.default.temporaryDirectory.path
        XCTAssertThrowsError(try Paml.parseAsRoot(["train", "--system", "bogus", "--out", "x"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("bogus"), Paml.message(for: error))
        }
        XCTAssertThrowsError(try Paml.parseAsRoot(["train", "--data", data, "--out", "Checkpoints/paml"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("--force"), Paml.message(for: error))
        }
        XCTAssertThrowsError(try Paml.parseAsRoot(["chat", "--decoding", "nucleus"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("'beam', 'greedy' or 'top-k'"), Paml.message(for: error))
        }
        XCTAssertThrowsError(try Paml.parseAsRoot(["adapt", "--out", "x"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("--persona"), Paml.message(for: error))
        }
        XCTAssertThrowsError(try Paml.parseAsRoot(["data", "stats", "--data", "/nonexistent/corpora"])) { error in
            XCTAssertTrue(Paml.message(for: error).contains("/nonexistent/corpora"), Paml.message(for: error))
        }
    }

    /// chat/generate/adapt take the adaptation protocol stored in the checkpoint; each option overrides one value.
    func testGenerationReadsTheCheckpointsAdaptationProtocol() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Checkpoints/paml")
        let checkpoint = try DialogueCheckpoint(folder: folder)
        let stored = try XCTUnwrap(checkpoint.config.adaptation)
        let plain = try XCTUnwrap(Paml.parseAsRoot(["generate"]) as? GenerateCommand)
        XCTAssertEqual(plain.options.adaptation(checkpoint), stored)
        let custom = try XCTUnwrap(Paml.parseAsRoot(["generate", "--adapt-lr", "0.01", "--adapt-steps", "10"]) as? GenerateCommand)
        XCTAssertEqual(custom.options.adaptation(checkpoint),
                       AdaptationSettings(steps: 10, learningRate: 0.01, gradientClip: stored.gradientClip, batchSize: stored.batchSize))
    }
}
