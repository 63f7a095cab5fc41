import XCTest
@testable import Text

final class VocabularyTests: XCTestCase {
    func testSpecialIdsAndDeterministicOrder() {
        let counts = ["b": 3, "a": 3, "c": 5, "rare": 1, "PAD": 9]
        let vocab = Vocabulary(counts: counts, minCount: 2)
        XCTAssertEqual(vocab.tokens, ["UNK", "PAD", "EOS", "SOS", "c", "a", "b"])
        XCTAssertEqual([Vocabulary.unkID, Vocabulary.padID, Vocabulary.eosID, Vocabulary.sosID], [0, 1, 2, 3])
        XCTAssertEqual(Vocabulary(counts: counts, minCount: 1, maxSize: 6).tokens, ["UNK", "PAD", "EOS", "SOS", "c", "a"])
    }

    func testEncodeDecode() {
        let vocab = Vocabulary(counts: Vocabulary.count([["i", "am", "fine"], ["i", "am"]]))
        let ids = vocab.encode(["i", "am", "unknown"], addSOS: true, addEOS: true)
        XCTAssertEqual(ids, [3, vocab.id("i"), vocab.id("am"), 0, 2])
        XCTAssertEqual(vocab.decode(ids + [vocab.id("fine")]), ["i", "am", "UNK"])
        XCTAssertEqual(vocab.decode([1, vocab.id("fine"), 99]), ["fine", "UNK"])
    }

    func testSaveLoadRoundTripAndStrictErrors() throws {
        let dir = try temporaryDirectory()
        let vocab = Vocabulary(counts: ["hello": 2, "world": 1, "i'm": 4])
        let url = dir.appendingPathComponent("vocab.txt")
        try vocab.save(to: url)
        XCTAssertEqual(try Vocabulary.load(from: url), vocab)

        func loadError(_ text: String) -> String {
            let bad = dir.appendingPathComponent("bad.txt")
            try! text.write(to: bad, atomically: true, encoding: .utf8)
            do { _ = try Vocabulary.load(from: bad); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(loadError("UNK\nPAD\nEOS\nSOS\na\nb\na\n").hasSuffix("bad.txt:7: duplicate token 'a' (first on line 5)"))
        XCTAssertTrue(loadError("UNK\nPAD\nSOS\nEOS\n").hasSuffix("bad.txt:3: expected special token EOS, found 'SOS'"))
        XCTAssertTrue(loadError("UNK\nPAD\nEOS\nSOS\n\nx\n").hasSuffix("bad.txt:5: empty token"))
        XCTAssertTrue(loadError("UNK\nPAD\n").hasSuffix("bad.txt:3: missing special token EOS"))
    }
}
