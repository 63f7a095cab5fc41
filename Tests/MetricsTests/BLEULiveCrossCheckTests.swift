import Foundation
import XCTest
@testable import Metrics

/// Runs the installed sacreBLEU on a few hundred seeded random segments and compares every
/// corpus and sentence score. Skipped when `python3 -c 'import sacrebleu'` fails (CI installs it).
final class BLEULiveCrossCheckTests: XCTestCase {
    /// SplitMix64: a tiny seeded generator so the corpus is the same on every run.
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
    }

    static let vocabulary = [
        "the", "The", "cat", "dog", "sat", "on", "mat", "and", "I", "don't", "it's", "&quot;", "&amp;", "&lt;b&gt;",
        "1,000", "3.5", "2019-2020", "-5", "caf\u{E9}", "cafe\u{301}", "ΣΟΦΙΑΣ", "σοφία", "İzmir", "Straße",
        ".", ",", "!", "?", "...", "(x)", "[y]", "{z}", "a/b", "<skipped>", "\u{2014}", "\u{2026}", "١٢٣",
        "€5", "#tag", "@user", "50%", "e.g.", "U.S.", "x,y", "9.", ".9", "«oui»", "日本語", "😀", "ǅ",
    ]
    static let separators = [" ", " ", " ", " ", "", "  ", "\t", "\u{A0}"]

    static func sentence(_ words: [String], _ rng: inout SplitMix64) -> String {
        var text = ""
        for (i, word) in words.enumerated() {
            if i > 0 { text += rng.pick(separators) }
            text += word
        }
        if rng.below(5) == 0 { text += "  " }
        return text
    }

    static func corpus(segments: Int, seed: UInt64) -> (hypotheses: [String], references: [[String]]) {
        var rng = SplitMix64(state: seed)
        var hypotheses: [String] = [], first: [String] = [], second: [String] = []
        for _ in 0..<segments {
            let length = rng.below(12)  // includes empty references
            let reference = (0..<length).map { _ in rng.pick(vocabulary) }
            var hypothesis: [String] = []
            for word in reference {
                switch rng.below(6) {
                case 0: continue                                   // drop
                case 1: hypothesis.append(rng.pick(vocabulary))    // substitute
                case 2: hypothesis += [word, rng.pick(vocabulary)] // insert
                default: hypothesis.append(word)
                }
            }
            var other = reference.shuffled(using: &rng)
            other = Array(other.prefix(rng.below(other.count + 3))) + (0..<rng.below(3)).map { _ in rng.pick(vocabulary) }
            hypotheses.append(sentence(hypothesis, &rng))
            first.append(sentence(reference, &rng))
            second.append(sentence(other, &rng))
        }
        return (hypotheses, [first, second])
    }

    struct Config: Codable {
        var tokenize: String
        var lowercase: Bool
        var smoothMethod: String
        var smoothValue: Double?
        var effectiveOrder: Bool

        var metric: BLEU {
            BLEU(tokenizer: BLEUTokenizer(rawValue: tokenize)!, lowercase: lowercase,
                 smoothing: BLEU.Smoothing(method: smoothMethod, value: smoothValue)!, effectiveOrder: effectiveOrder)
        }
    }

    struct Input: Codable {
        var hypotheses: [String]
        var references: [[String]]
        var configs: [Config]
    }

    struct Result: Codable {
        var score: Double
        var counts: [Double]
        var totals: [Double]
        var bp: Double
        var sysLen: Int
        var refLen: Int
        var signature: String?
    }

    static let script = """
    import json, sys
    import sacrebleu
    from sacrebleu.metrics import BLEU
    data = json.load(open(sys.argv[1], encoding="utf-8"))
    def pack(s, signature=None):
        return {"score": s.score, "counts": [float(c) for c in s.counts], "totals": [float(t) for t in s.totals],
                "bp": s.bp, "sysLen": s.sys_len, "refLen": s.ref_len, "signature": signature}
    out = []
    for c in data["configs"]:
        kw = dict(tokenize=c["tokenize"], lowercase=c["lowercase"], smooth_method=c["smoothMethod"],
                  smooth_value=c.get("smoothValue"), effective_order=c["effectiveOrder"])
        metric = BLEU(**kw)
        corpus = metric.corpus_score(data["hypotheses"], data["references"])
        sentences = [pack(metric.sentence_score(h, [r[i] for r in data["references"]]))
                     for i, h in enumerate(data["hypotheses"])]
        out.append({"corpus": pack(corpus, str(metric.get_signature())), "sentences": sentences})
    json.dump(out, open(sys.argv[2], "w", encoding="utf-8"))
    """

    func python(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testAgainstInstalledSacreBLEU() throws {
        guard (try? python(["-c", "import sacrebleu; assert sacrebleu.__version__ == '2.6.0'"])) == 0 else {
            throw XCTSkip("sacrebleu 2.6.0 is not importable from python3")
        }
        let (hypotheses, references) = Self.corpus(segments: 400, seed: 20_190_728)
        let configs = [
            Config(tokenize: "13a", lowercase: false, smoothMethod: "exp", smoothValue: nil, effectiveOrder: false),
            Config(tokenize: "13a", lowercase: true, smoothMethod: "floor", smoothValue: nil, effectiveOrder: true),
            Config(tokenize: "intl", lowercase: false, smoothMethod: "add-k", smoothValue: 1, effectiveOrder: true),
            Config(tokenize: "intl", lowercase: true, smoothMethod: "none", smoothValue: nil, effectiveOrder: false),
            Config(tokenize: "none", lowercase: false, smoothMethod: "exp", smoothValue: nil, effectiveOrder: true),
            Config(tokenize: "char", lowercase: true, smoothMethod: "floor", smoothValue: 0.3, effectiveOrder: false),
        ]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bleu-live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inputURL = directory.appendingPathComponent("input.json"), outputURL = directory.appendingPathComponent("output.json")
        let scriptURL = directory.appendingPathComponent("score.py")
        try JSONEncoder().encode(Input(hypotheses: hypotheses, references: references, configs: configs)).write(to: inputURL)
        try Self.script.write(to: scriptURL, atomically: true, encoding: .utf8)
        XCTAssertEqual(try python([scriptURL.path, inputURL.path, outputURL.path]), 0, "sacreBLEU script failed")
        struct ConfigResult: Codable { var corpus: Result; var sentences: [Result] }
        let expected = try JSONDecoder().decode([ConfigResult].self, from: Data(contentsOf: outputURL))
        XCTAssertEqual(expected.count, configs.count)

        var worst = 0.0
        func check(_ actual: BLEUScore, _ golden: Result, _ what: String) {
            if golden.score != 0 { worst = max(worst, abs(actual.score - golden.score) / golden.score) }
            assertRelativelyClose(actual.score, golden.score, what)
            assertRelativelyClose(actual.bp, golden.bp, "\(what) bp")
            XCTAssertEqual(actual.counts, golden.counts, "\(what) counts")
            XCTAssertEqual(actual.totals, golden.totals, "\(what) totals")
            XCTAssertEqual(actual.sysLen, golden.sysLen, "\(what) sys_len")
            XCTAssertEqual(actual.refLen, golden.refLen, "\(what) ref_len")
        }
        for (config, result) in zip(configs, expected) {
            let metric = config.metric
            var accumulator = BLEUAccumulator(metric)
            for (i, hypothesis) in hypotheses.enumerated() {
                let refs = references.map { $0[i] }
                accumulator.accumulate(hypothesis: hypothesis, references: refs)
                check(metric.sentenceScore(hypothesis: hypothesis, references: refs), result.sentences[i],
                      "\(config.tokenize) segment \(i): \(hypothesis.debugDescription)")
            }
            check(accumulator.measure(), result.corpus, "\(config.tokenize) corpus")
            XCTAssertEqual(accumulator.signature, result.corpus.signature)
        }
        print("BLEU live cross-check: \(configs.count) configs x \(hypotheses.count) segments, worst relative score difference \(worst)")
    }
}
