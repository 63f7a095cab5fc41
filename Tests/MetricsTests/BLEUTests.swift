import Foundation
import XCTest
@testable import Metrics

/// Expected sacreBLEU output for one corpus or sentence.
struct GoldenScore {
    var score: Double
    var counts: [Double]
    var totals: [Double]
    var precisions: [Double]
    var bp: Double
    var sysLen: Int
    var refLen: Int
}

/// One corpus with options and sacreBLEU's results (see References/make_bleu_golden.py).
struct GoldenCase {
    var name: String
    var metric: BLEU
    var hypotheses: [String]
    var references: [[String?]]
    var corpus: GoldenScore
    var signature: String
    var line: String
    var sentences: [GoldenScore]
}

/// |actual - expected| <= 1e-9 * |expected| (and exact for 0).
func assertRelativelyClose(_ actual: Double, _ expected: Double, _ message: @autoclosure () -> String,
                           file: StaticString = #filePath, line: UInt = #line) {
    XCTAssert(abs(actual - expected) <= 1e-9 * abs(expected), "\(actual) vs sacreBLEU \(expected): \(message())",
              file: file, line: line)
}

func assertMatches(_ actual: BLEUScore, _ expected: GoldenScore, _ what: String,
                   file: StaticString = #filePath, line: UInt = #line) {
    assertRelativelyClose(actual.score, expected.score, "\(what) score", file: file, line: line)
    assertRelativelyClose(actual.bp, expected.bp, "\(what) bp", file: file, line: line)
    XCTAssertEqual(actual.counts, expected.counts, "\(what) counts", file: file, line: line)
    XCTAssertEqual(actual.totals, expected.totals, "\(what) totals", file: file, line: line)
    XCTAssertEqual(actual.sysLen, expected.sysLen, "\(what) sys_len", file: file, line: line)
    XCTAssertEqual(actual.refLen, expected.refLen, "\(what) ref_len", file: file, line: line)
    XCTAssertEqual(actual.precisions.count, expected.precisions.count, "\(what) orders", file: file, line: line)
    for (a, e) in zip(actual.precisions, expected.precisions) {
        assertRelativelyClose(a, e, "\(what) precisions", file: file, line: line)
    }
}

final class BLEUTests: XCTestCase {
    // MARK: sacreBLEU's own test vectors
    // From mjpost/sacrebleu test/test_bleu.py (commit 785d26bb) and test/test_sentence_bleu.py
    // (commit 27bec349); their tolerances were 1e-8 and 1e-3 absolute.

    static let readmeHypotheses = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    static let readmeReferences: [[String?]] = [
        ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
        ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
    ]

    /// test_bleu.py `raw_corpus_bleu(hyps, refs, .01)`: tokenize none, floor 0.01, effective order.
    static let raw = BLEU(tokenizer: .none, smoothing: .floor(0.01), effectiveOrder: true)

    func testSacreBLEURawCorpusBLEU() {
        let cases: [([String], [[String?]], Double)] = [
            (["this is a test", "another test"], [["ref1", "ref2"]], 0.0),
            (["this is a test"], [["this is a test"]], 1.0),
            (["this is a fest"], [["this is a test"]], 0.223606797749979),
            // test_case_effective_order
            (["test"], [["a test"]], 0.3678794411714425),
            (["a test"], [["a test"]], 1.0),
            (["a little test"], [["a test"]], 0.03218297948685433),
        ]
        for (hyps, refs, expected) in cases {
            let bleu = Self.raw.corpusScore(hypotheses: hyps, references: refs).score / 100
            XCTAssertEqual(bleu, expected, accuracy: 1e-8, "\(hyps)")
        }
    }

    func testSacreBLEUCorpusBLEU() {
        let cases: [(BLEU, [String], Double)] = [
            (BLEU(), Self.readmeHypotheses, 48.530827),
            (BLEU(), ["", "", ""], 0.0),
            (BLEU(tokenizer: .none), Self.readmeHypotheses, 49.1919566),
            (BLEU(tokenizer: .v13a), Self.readmeHypotheses, 48.530827),
            (BLEU(tokenizer: .intl), Self.readmeHypotheses, 43.91623493),
            (BLEU(smoothing: .none), Self.readmeHypotheses, 48.530827),
        ]
        for (metric, hyps, expected) in cases {
            let bleu = metric.corpusScore(hypotheses: hyps, references: Self.readmeReferences).score
            XCTAssertEqual(bleu, expected, accuracy: 1e-6, "\(metric.tokenizer) \(metric.smoothing)")
        }
        // test_max_ngram_order: formatted with two decimals.
        for (order, expected) in [(1, "77.65"), (2, "60.50"), (3, "53.93"), (4, "48.53"), (5, "46.14"), (6, "43.28")] {
            let bleu = BLEU(maxOrder: order).corpusScore(hypotheses: Self.readmeHypotheses, references: Self.readmeReferences)
            XCTAssertEqual(String(format: "%.2f", bleu.score), expected, "order \(order)")
        }
    }

    func testSacreBLEUStatisticsAndOffsets() {
        let hyp = ["am I am a character sequence"], ref: [[String?]] = [["I am a symbol string sequence a a"]]
        let stats = Self.raw.corpusScore(hypotheses: hyp, references: ref)
        XCTAssertEqual(stats.counts, [4, 2, 1, 0])
        XCTAssertEqual(stats.totals, [6, 5, 4, 3])
        // test_offset: floor 0.0 gives 0, the default floor (0.1) gives 0.1555722182.
        let noOffset = BLEU(tokenizer: .none, smoothing: .floor(0), effectiveOrder: true)
        XCTAssertEqual(noOffset.corpusScore(hypotheses: hyp, references: ref).score / 100, 0, accuracy: 1e-8)
        let defaultOffset = BLEU(tokenizer: .none, smoothing: .floorDefault, effectiveOrder: true)
        XCTAssertEqual(defaultOffset.corpusScore(hypotheses: hyp, references: ref).score / 100, 0.1555722182, accuracy: 1e-8)
    }

    func testSacreBLEUScoringAndDegenerateStatistics() {
        let scoring = BLEUStatistics(hypothesisLength: 11, referenceLength: 11, matches: [9, 7, 5, 3], totals: [10, 8, 6, 4])
        XCTAssertEqual(BLEU(smoothing: .none).score(scoring).score / 100, 0.8375922397, accuracy: 1e-8)
        let degenerate: [([Int], [Int], Int, Int, Double)] = [
            ([0, 0, 0, 0], [4, 4, 2, 1], 0, 1, 0.0),
            ([0, 0, 0, 0], [10, 11, 12, 0], 14, 10, 0.0),
            ([0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.0),
            ([6, 5, 4, 0], [6, 5, 4, 3], 6, 6, 0.0),
            ([0, 0, 0, 0], [0, 0, 0, 0], 0, 0, 0.1),
            ([0, 0, 0, 0], [0, 0, 0, 0], 1, 5, 0.01),
        ]
        for (matches, totals, sysLen, refLen, offset) in degenerate {
            let stats = BLEUStatistics(hypothesisLength: sysLen, referenceLength: refLen, matches: matches, totals: totals)
            XCTAssertEqual(BLEU(smoothing: .floor(offset)).score(stats).score, 0, "\(matches) \(totals)")
        }
    }

    /// test_sentence_bleu.py: sentence BLEU (effective order) under each smoothing and tokenizer.
    func testSacreBLEUSentenceBLEU() {
        let ref = "producţia de zahăr brut se exprimă în zahăr alb;"
        let sys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"
        let cases: [(BLEU.Smoothing, Bool, BLEUTokenizer, Double)] = [
            (.exp, false, .v13a, 8.493),
            (.none, false, .v13a, 0.0),
            (.floorDefault, false, .v13a, 4.51688),
            (.floor(0.5), false, .v13a, 10.10),
            (.addKDefault, false, .v13a, 14.882),
            (.addK(2), false, .v13a, 21.389),
            (.exp, false, .none, 7.347),
            (.exp, false, .intl, 8.493),
            (.exp, false, .char, 40.8759),
            (.exp, true, .char, 42.0267),
        ]
        for (smoothing, lowercase, tokenizer, expected) in cases {
            let metric = BLEU(tokenizer: tokenizer, lowercase: lowercase, smoothing: smoothing, effectiveOrder: true)
            XCTAssertEqual(metric.sentenceScore(hypothesis: sys, references: [ref]).score, expected, accuracy: 1e-3,
                           "\(smoothing) \(tokenizer) lowercase \(lowercase)")
        }
        for smoothing: BLEU.Smoothing in [.exp, .none, .floorDefault, .addKDefault] {
            let metric = BLEU(smoothing: smoothing, effectiveOrder: true)
            XCTAssertEqual(metric.sentenceScore(hypothesis: "this is a cat", references: ["okay thanks"]).score, 0)
        }
    }

    // MARK: golden values generated by References/make_bleu_golden.py (BLEUGoldenValues.swift)

    func testGoldenCorpusAndSentenceScores() {
        XCTAssertFalse(bleuGoldenCases.isEmpty)
        for golden in bleuGoldenCases {
            var accumulator = BLEUAccumulator(golden.metric)
            for (i, hypothesis) in golden.hypotheses.enumerated() {
                accumulator.accumulate(hypothesis: hypothesis, references: golden.references.compactMap { $0[i] })
            }
            let corpus = accumulator.measure()
            assertMatches(corpus, golden.corpus, golden.name)
            XCTAssertEqual(accumulator.signature, golden.signature, golden.name)
            XCTAssertEqual(corpus.formatted(signature: accumulator.signature), golden.line, golden.name)
            // The one-shot API agrees with the accumulator.
            XCTAssertEqual(golden.metric.corpusScore(hypotheses: golden.hypotheses, references: golden.references), corpus)

            var sentenceMetric = golden.metric
            sentenceMetric.effectiveOrder = true
            for (i, hypothesis) in golden.hypotheses.enumerated() {
                let sentence = sentenceMetric.sentenceScore(
                    hypothesis: hypothesis, references: golden.references.compactMap { $0[i] })
                assertMatches(sentence, golden.sentences[i], "\(golden.name) sentence \(i)")
            }
        }
    }

    func testGoldenTokenizerOutputs() {
        XCTAssertFalse(bleuTokenizerGolden.isEmpty)
        for (tokenizer, lowercase, input, expected) in bleuTokenizerGolden {
            let tokens = BLEU(tokenizer: tokenizer, lowercase: lowercase).tokens(input)
            let joined = tokens.map { String(String.UnicodeScalarView($0)) }.joined(separator: " ")
            XCTAssert(joined.unicodeScalars.elementsEqual(expected.unicodeScalars),
                      "\(tokenizer) lowercase \(lowercase): \(input.debugDescription) -> \(joined.debugDescription), sacreBLEU \(expected.debugDescription)")
        }
    }

    // MARK: accumulator behaviour

    /// Corpus BLEU sums statistics and divides once: it is not the mean of sentence BLEUs, and
    /// accumulating segment by segment equals scoring the summed statistics.
    func testAccumulatorSumsStatistics() {
        let metric = BLEU()
        var accumulator = BLEUAccumulator(metric)
        var summed = BLEUStatistics()
        var sentenceMean = 0.0
        for (i, hypothesis) in Self.readmeHypotheses.enumerated() {
            let references = Self.readmeReferences.compactMap { $0[i] }
            accumulator.accumulate(hypothesis: hypothesis, references: references)
            summed += metric.statistics(hypothesis: hypothesis, references: references)
            sentenceMean += metric.sentenceScore(hypothesis: hypothesis, references: references).score / 3
        }
        XCTAssertEqual(accumulator.statistics, summed)
        XCTAssertEqual(accumulator.measure(), metric.score(summed))
        XCTAssertGreaterThan(abs(accumulator.measure().score - sentenceMean), 0.1)
        accumulator.reset()
        XCTAssertEqual(accumulator.statistics, BLEUStatistics())
        XCTAssertEqual(accumulator.measure().score, 0)
    }

    /// Canonically equivalent but different code points are different tokens, as in Python.
    func testCodePointsNotGraphemes() {
        let precomposed = "caf\u{E9}", decomposed = "cafe\u{301}"
        XCTAssertEqual(precomposed, decomposed)  // Swift String equality is canonical
        let score = BLEU().sentenceScore(hypothesis: precomposed, references: [decomposed])
        XCTAssertEqual(score.counts[0], 0)
    }
}
