import XCTest
@testable import Text

final class TokenizerTests: XCTestCase {
    let tokenizer = Tokenizer()

    func testRawInputSplitsPunctuationKeepsContractions() {
        XCTAssertEqual(tokenizer.tokenize("Hello, I'm fine!"), ["hello", ",", "i'm", "fine", "!"])
        XCTAssertEqual(tokenizer.tokenize("I DON'T know… it’s 3.5 km?"), ["i", "don't", "know", ".", ".", ".", "it's", "3.5", "km", "?"])
        XCTAssertEqual(tokenizer.tokenize("  \t\n "), [])
        XCTAssertEqual(tokenizer.tokenize(""), [])
    }

    func testCaseFoldingIsUnicode() {
        XCTAssertEqual(tokenizer.tokenize("STRASSE Straße ÉCOLE"), ["strasse", "strasse", "école"])
    }

    func testDetokenize() {
        let tokens = ["hello", ",", "i'm", "fine", "!", "how", "are", "you", "?", "(", "really", ")"]
        XCTAssertEqual(tokenizer.detokenize(tokens), "hello, i'm fine! how are you? (really)")
        XCTAssertEqual(tokenizer.detokenize(tokens, capitalize: true), "Hello, I'm fine! How are you? (Really)")
    }

    /// Every tokenised dialogue line of ConvAI2 valid comes back token for token.
    func testRealPersonaChatLinesRoundTrip() throws {
        let url = try RealData.file("personachat/valid_self_original_no_cands.txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        var lines = 0, mismatches: [String] = []
        let start = Date()
        for line in text.split(separator: "\n") where !line.contains("persona:") {
            let content = line.drop(while: { $0 != " " }).dropFirst()
            for part in content.split(separator: "\t") {
                lines += 1
                let expected = part.split(separator: " ").map(String.init)
                if tokenizer.tokenize(String(part)) != expected { mismatches.append(String(part)) }
            }
        }
        print("tokenized and compared \(lines) lines in \(String(format: "%.2f", Date().timeIntervalSince(start))) s")
        XCTAssertGreaterThan(lines, 15_000)
        XCTAssertEqual(mismatches.count, 0, "first mismatches: \(mismatches.prefix(5))")
    }
}
