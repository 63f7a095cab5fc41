import Foundation
import Metrics
import TestSupport
import XCTest
@testable import Experiments

/// The analysis and the resumable cache of `paml experiment consistency` (the model-running part is the
/// shared k-shot adaptation and beam search, tested in their modules).
final class ConsistencyCurveTests: XCTestCase {
    private func unit(_ system: String, k: Int, wrong: Bool = false, persona: String, held: Int = 0, origin: String = "spc-test",
                      scores: [Int]) -> ConsistencyUnit {
        ConsistencyUnit(system: system, k: k, wrongPersona: wrong, persona: persona, heldOut: held, origin: origin,
                        answers: scores.map { "a\($0)" }, references: scores.map { "r\($0)" }, scores: scores, nll: 2, tokens: 1)
    }

    private func config(wrong: [String] = []) -> ConsistencyCurveConfig {
        var c = ConsistencyCurveConfig(data: "", systems: [ConsistencySystem(name: "D+FT", checkpoint: "", adapted: true),
                                                           ConsistencySystem(name: "PAML", checkpoint: "", adapted: true)],
                                       nliCheckpoint: "", minilm: "", cache: "")
        c.shots = [0, 3]
        c.wrongPersonaSystems = wrong
        c.wrongPersonaShots = [3]
        c.resamples = 300
        return c
    }

    func testCellsAndPairedDifferencesByHand() throws {
        let units = [
            unit("D+FT", k: 3, persona: "p1", scores: [0, 0, 1]), unit("D+FT", k: 3, persona: "p2", origin: "convai2-valid", scores: [-1, 0]),
            unit("PAML", k: 3, persona: "p1", scores: [1, 1, 1]), unit("PAML", k: 3, persona: "p2", origin: "convai2-valid", scores: [0, 1]),
            unit("PAML", k: 3, wrong: true, persona: "p1", scores: [0, 0, 0]), unit("PAML", k: 3, wrong: true, persona: "p2", scores: [0, 0]),
            unit("PAML", k: 0, persona: "p1", scores: [0, 0, 0]), unit("PAML", k: 0, persona: "p2", scores: [0, 1]),
        ]
        let (cells, differences) = ConsistencyCurve(config: config(wrong: ["PAML"])).analyse(units)
        func cell(_ s: String, _ k: Int, _ subset: String, wrong: Bool = false) -> ConsistencyCell? {
            cells.first { $0.system == s && $0.k == k && $0.subset == subset && $0.wrongPersona == wrong }
        }
        // Mean over answers: D+FT (0 + 0 + 1 - 1 + 0) / 5 = 0, PAML 4 / 5.
        XCTAssertEqual(try XCTUnwrap(cell("D+FT", 3, "all")).c.estimate, 0, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(cell("PAML", 3, "all")).c.estimate, 0.8, accuracy: 1e-12)
        XCTAssertEqual(cell("PAML", 3, "all")?.responses, 5)
        XCTAssertEqual(cell("PAML", 3, "all")?.personas, 2)
        XCTAssertEqual(try XCTUnwrap(cell("PAML", 3, "human")).c.estimate, 0.5, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(cell("PAML", 3, "synthetic")).c.estimate, 1, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(cell("PAML", 3, "all")).perplexity ?? 0, exp(2.0), accuracy: 1e-9)
        let paml = try XCTUnwrap(differences.first { $0.a == "PAML" && $0.b == "D+FT" && $0.k == 3 && $0.subset == "all" })
        XCTAssertEqual(paml.difference.estimate, 0.8, accuracy: 1e-12)
        XCTAssertLessThanOrEqual(paml.difference.lower, paml.difference.estimate)
        // The control: wrong-persona k = 3 against unadapted k = 0 (C must not rise), and own against wrong.
        let rise = try XCTUnwrap(differences.first { $0.a == "PAML k=3 wrong persona" && $0.b == "PAML k=0" && $0.subset == "all" })
        XCTAssertEqual(rise.difference.estimate, -0.2, accuracy: 1e-12)
        let own = try XCTUnwrap(differences.first { $0.a == "PAML k=3" && $0.b == "PAML k=3 wrong persona" && $0.subset == "all" })
        XCTAssertEqual(own.difference.estimate, 0.8, accuracy: 1e-12)
    }

    func testCacheDropsACutLastLineAndNamesADamagedOne() throws {
        let folder = try TemporaryFolder()
        let file = folder.url.appendingPathComponent("units.jsonl")
        let encoder = JSONEncoder()
        let good = String(decoding: try encoder.encode(unit("PAML", k: 1, persona: "p", scores: [1])), as: UTF8.self)
        try (good + "\n" + String(good.prefix(30))).write(to: file, atomically: true, encoding: .utf8)
        let units = try ConsistencyCurve.readUnits(file)
        XCTAssertEqual(units.count, 1)
        XCTAssertEqual(try String(contentsOf: file), good + "\n", "the cut line is removed so the next append starts clean")
        try ("{broken\n" + good + "\n").write(to: file, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConsistencyCurve.readUnits(file)) { error in
            XCTAssertTrue("\(error)".contains("units.jsonl:1:"), "\(error)")
        }
        // Appending after a clean read keeps one unit per line.
        try (good + "\n").write(to: file, atomically: true, encoding: .utf8)
        let appender = try ConsistencyCurve.UnitAppender(file)
        try appender.append(unit("PAML", k: 3, persona: "q", scores: [0, -1]))
        let again = try ConsistencyCurve.readUnits(file)
        XCTAssertEqual(again.map(\.key), ["PAML|1|own|p|0", "PAML|3|own|q|0"])
    }

    func testConfigRefusesAmbiguousSystems() {
        var c = config()
        c.systems.append(ConsistencySystem(name: "PAML", checkpoint: "x", adapted: true))
        XCTAssertThrowsError(try c.validate())
        var d = config(wrong: ["Human"])
        XCTAssertThrowsError(try d.validate())
        d.wrongPersonaSystems = ["PAML"]
        d.wrongPersonaShots = [5]
        XCTAssertThrowsError(try d.validate(), "k = 5 is not among the shots")
        d.wrongPersonaShots = [3]
        XCTAssertNoThrow(try d.validate())
    }

    func testCacheRefusesOtherSettings() throws {
        let folder = try TemporaryFolder()
        let file = folder.file("settings.json")
        var c = config()
        try ConsistencyCurve(config: c).checkCacheSettings(file, scorer: "crc32:1")
        XCTAssertNoThrow(try ConsistencyCurve(config: c).checkCacheSettings(file, scorer: "crc32:1"))
        XCTAssertThrowsError(try ConsistencyCurve(config: c).checkCacheSettings(file, scorer: "crc32:2"))
        c.blockNGram = 3
        XCTAssertThrowsError(try ConsistencyCurve(config: c).checkCacheSettings(file, scorer: "crc32:1")) { error in
            XCTAssertTrue("\(error)".contains("blockNGram"), "\(error)")
        }
    }
}
