import Foundation
import Metrics
import TestSupport
import NLI
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

    func testProbesAreLabelledAgainstTheirTopicSentencesOnly() {
        // Entailment when the answer repeats the sentence, contradiction when it says "not"; neutral otherwise.
        struct Echo: NLIPredictor {
            func predict(_ pairs: [(premise: String, hypothesis: String)]) -> [NLILabel] {
                pairs.map { $0.premise == $0.hypothesis ? .entailment : $0.premise.contains("not") ? .contradiction : .neutral }
            }
        }
        let probes = [PersonaQuestions.Probe(topic: "job", question: "what do you do ?", sentences: ["i am a nurse ."]),
                      PersonaQuestions.Probe(topic: "likes", question: "fun ?", sentences: ["i hike .", "i like jazz ."]),
                      PersonaQuestions.Probe(topic: "home", question: "where ?", sentences: ["i live in ohio ."])]
        let replies = ["what do you do ?": "i am not a nurse .", "fun ?": "i like jazz .", "where ?": "somewhere ."]
        let answers = ConsistencyCurve.askProbes(probes, predictor: Echo()) { replies[$0]! }
        XCTAssertEqual(answers.map { $0.answer }, ["i am not a nurse .", "i like jazz .", "somewhere ."])
        XCTAssertEqual(answers.map { $0.recalled }, [false, true, false])
        XCTAssertEqual(answers.map { $0.contradicted }, [true, false, false])
    }

    func testFactRecallRatesByHand() throws {
        func probes(_ hits: [Bool]) -> [ProbeAnswer] {
            hits.map { ProbeAnswer(topic: "job", question: "q", answer: "a", recalled: $0, contradicted: !$0) }
        }
        var a = unit("PAML", k: 3, persona: "p1", scores: [0]), b = unit("PAML", k: 3, persona: "p2", scores: [0])
        a.probes = probes([true, true, false])
        b.probes = probes([false])
        var c = unit("D+FT", k: 3, persona: "p1", scores: [0])
        c.probes = probes([false, false])
        let unprobed = unit("D+FT", k: 3, persona: "p2", held: 1, scores: [0])
        let cells = ConsistencyCurve(config: config()).analyseFactRecall([a, b, c, unprobed])
        XCTAssertEqual(cells.map { $0.system }, ["D+FT", "PAML"], "in the configured order")
        let paml = try XCTUnwrap(cells.last)
        XCTAssertEqual(paml.recalled.estimate, 0.5, accuracy: 1e-12, "2 of 4 questions")
        XCTAssertEqual(paml.contradicted.estimate, 0.5, accuracy: 1e-12)
        XCTAssertEqual(paml.questions, 4)
        XCTAssertEqual(paml.personas, 2)
        XCTAssertEqual(cells[0].recalled.estimate, 0, accuracy: 1e-12)
        XCTAssertEqual(cells[0].personas, 1, "the unit without probes adds no persona")
    }

    func testBLEUDistinctAndTheSecondDecoderByHand() throws {
        func answered(_ system: String, persona: String, answers: [String], references: [String], blocked: [String]?) -> ConsistencyUnit {
            var u = ConsistencyUnit(system: system, k: 3, wrongPersona: false, persona: persona, heldOut: 0, origin: "spc-test",
                                    answers: answers, references: references, scores: answers.map { _ in 1 }, nll: 1, tokens: 1)
            u.blockedAnswers = blocked
            u.blockedScores = blocked.map { $0.map { _ in -1 } }
            return u
        }
        let units = [answered("PAML", persona: "p1", answers: ["i like to read books a lot", "i am a nurse in ohio"],
                              references: ["i like to read books a lot", "i work as a nurse"], blocked: ["i read", "i nurse"]),
                     answered("PAML", persona: "p2", answers: ["hello there how are you"], references: ["hi how are you today"], blocked: ["hi"])]
        let (cells, _) = ConsistencyCurve(config: config()).analyse(units)
        let all = try XCTUnwrap(cells.first { $0.system == "PAML" && $0.subset == "all" })
        // The same corpus BLEU sacreBLEU gives for these three segments.
        let expected = ConsistencyCurve.bleuMetric.corpusScore(
            hypotheses: ["i like to read books a lot", "i am a nurse in ohio", "hello there how are you"],
            references: [["i like to read books a lot", "i work as a nurse", "hi how are you today"]]).score
        XCTAssertEqual(try XCTUnwrap(all.bleu).estimate, expected, accuracy: 1e-9)
        XCTAssertLessThanOrEqual(try XCTUnwrap(all.bleu).lower, expected + 1e-9)
        // distinct-1: distinct words over all words of the answers.
        let words = "i like to read books a lot i am a nurse in ohio hello there how are you".split(separator: " ")
        XCTAssertEqual(try XCTUnwrap(all.distinct)[0], Double(Set(words).count) / Double(words.count), accuracy: 1e-12)
        // The second decoder's answers replace the first's, with their own C.
        let second = ConsistencyCurve.secondDecoder(units)
        XCTAssertEqual(second.map { $0.answers }, [["i read", "i nurse"], ["hi"]])
        let (blockedCells, _) = ConsistencyCurve(config: config()).analyse(second)
        XCTAssertEqual(try XCTUnwrap(blockedCells.first { $0.system == "PAML" && $0.subset == "all" }).c.estimate, -1, accuracy: 1e-12)
        var c = config()
        c.alsoBlockNGram = 3
        XCTAssertTrue(c.hasSecondDecoder)
        c.blockNGram = 3
        XCTAssertFalse(c.hasSecondDecoder, "a second decoder equal to the first adds nothing")
    }

    func testReportDrawsThePapersCurvesDashedBesideOurs() throws {
        var c = config()
        c.systems = [ConsistencySystem(name: "Dialogue+Fine-tuning", checkpoint: "", adapted: true),
                     ConsistencySystem(name: "PAML", checkpoint: "", adapted: true)]
        let units = [unit("Dialogue+Fine-tuning", k: 0, persona: "p1", scores: [0]), unit("Dialogue+Fine-tuning", k: 3, persona: "p1", scores: [1]),
                     unit("PAML", k: 0, persona: "p1", scores: [0]), unit("PAML", k: 3, persona: "p1", scores: [1, 0])]
        let (cells, differences) = ConsistencyCurve(config: c).analyse(units)
        let report = ConsistencyCurveReport(command: "paml experiment consistency", config: c, signature: nil, cells: cells,
                                            differences: differences, factRecall: nil, seconds: 1)
        let files = try ConsistencyCurve.reportFiles(report)
        let svg = String(decoding: try XCTUnwrap(files["paml-consistency.svg"]), as: UTF8.self)
        XCTAssertTrue(svg.contains("PAML, the paper's (Fig. 2)") && svg.contains("Dialogue+Fine-tuning, the paper's (Fig. 2)"))
        XCTAssertEqual(svg.components(separatedBy: "stroke-dasharray").count - 1, 2, "the two paper curves, and only they, are dashed")
        XCTAssertEqual(svg.components(separatedBy: "<polyline").count - 1, 4)
        let md = String(decoding: try XCTUnwrap(files["paml-consistency.md"]), as: UTF8.self)
        XCTAssertTrue(md.contains("| PAML, the paper's | -0.05 | 0.10 |"), md)
    }
}
