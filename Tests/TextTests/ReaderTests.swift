import XCTest
@testable import Text

final class ReaderTests: XCTestCase {
    let selfText = """
    1 your persona: i'm a stunt double.
    2 your persona: i only eat kosher.
    3 hello what are doing today ?\ti am good , i'm tired .
    4 i watched a movie\ti rather read .
    1 your persona: i like cats.
    2 __SILENCE__\thi there !

    """
    let otherText = """
    1 partner's persona: i'm a stay at home dad.
    2 hello what are doing today ?\ti am good , i'm tired .
    3 i watched a movie\ti rather read .
    1 partner's persona: i like dogs.
    2 __SILENCE__\thi there !

    """

    func write(_ text: String, _ name: String, in dir: URL) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testConvAI2BothSides() throws {
        let dir = try temporaryDirectory()
        let dialogues = try ConvAI2.read(selfFile: write(selfText, "self.txt", in: dir), otherFile: write(otherText, "other.txt", in: dir), source: "c")
        XCTAssertEqual(dialogues.count, 2)
        XCTAssertEqual(dialogues[0].personas, [["i'm a stay at home dad."], ["i'm a stunt double.", "i only eat kosher."]])
        XCTAssertEqual(dialogues[0].turns.map(\.speaker), [0, 1, 0, 1])
        XCTAssertEqual(dialogues[0].turns[3].text, "i rather read .")
        XCTAssertEqual(dialogues[1].turns, [Utterance(speaker: 1, text: "hi there !")])
    }

    func testConvAI2MalformedLinesNameFileAndLine() throws {
        let dir = try temporaryDirectory()
        func error(_ text: String) -> String {
            do { _ = try ConvAI2.readEpisodes(write(text, "bad.txt", in: dir), personaPrefix: "your persona:"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(error("1 your persona: a.\n2 hello there\n").hasSuffix("bad.txt:2: dialogue line without a tab between utterance and response"))
        XCTAssertTrue(error("1 your persona: a.\n3 a\tb\n").hasSuffix("bad.txt:2: line number 3, expected 2"))
        XCTAssertTrue(error("1 your persona: a.\n2 a\tb\nx a\tb\n").hasSuffix("bad.txt:3: expected '<number> <text>', found \"x a\\tb\""))
        XCTAssertTrue(error("1 a\tb\n2 your persona: late.\n").hasSuffix("bad.txt:2: persona line after dialogue lines"))
        XCTAssertTrue(error("1 your persona: a.\n").hasSuffix("bad.txt:1: episode has no dialogue lines"))
    }

    func testCSVQuotedMultiLineFields() throws {
        let text = "a,b,c\r\n\"x, \"\"quoted\"\"\",\"two\nlines\",plain\n1,,3"
        let records = try CSV.parse(text, file: "t.csv")
        XCTAssertEqual(records.map(\.fields), [["a", "b", "c"], ["x, \"quoted\"", "two\nlines", "plain"], ["1", "", "3"]])
        XCTAssertEqual(records.map(\.line), [1, 2, 4])
        XCTAssertThrowsError(try CSV.parse("a,b\n\"open,c\nd,e\n", file: "t.csv")) { XCTAssertEqual("\($0)", "t.csv:2: quoted field never closed") }
        XCTAssertThrowsError(try CSV.parse("a,b\nx\"y,c\n", file: "t.csv")) { XCTAssertEqual("\($0)", "t.csv:2: quote inside an unquoted field") }
        XCTAssertThrowsError(try CSV.parse("a,b\n\"x\"y,c\n", file: "t.csv")) { XCTAssertEqual("\($0)", "t.csv:2: text after the closing quote of a field") }
    }

    func testSyntheticPersonaChat() throws {
        let dir = try temporaryDirectory()
        let csv = """
        user 1 personas,user 2 personas,Best Generated Conversation
        "I love cats.
        I am tall.","I hate cats.","User 1: Hi!
        *User 2:* Hello, friend!
        [Later]
        User 1: Cats are great.
        They are soft.
        * * *
        User 2: No."
        "I run.","I swim.","Hi there.
        Hello."
        "x","y",""
        """
        let (dialogues, repairs) = try SyntheticPersonaChat.read(write(csv, "spc.csv", in: dir), source: "spc")
        XCTAssertEqual(dialogues.count, 2)
        XCTAssertEqual(dialogues[0].personas, [["I love cats.", "I am tall."], ["I hate cats."]])
        XCTAssertEqual(dialogues[0].turns, [Utterance(speaker: 0, text: "Hi!"), Utterance(speaker: 1, text: "Hello, friend!"),
                                            Utterance(speaker: 0, text: "Cats are great. They are soft."), Utterance(speaker: 1, text: "No.")])
        XCTAssertEqual(dialogues[1].turns.map(\.speaker), [0, 1])
        XCTAssertEqual(repairs, .init(skippedLines: 2, continuationLines: 1, untaggedConversations: 1, emptyConversations: 1))
        let bad = try write("user 1 personas,user 2 personas,Best Generated Conversation\n\"a\",\"\",\"User 1: hi\"\n", "bad.csv", in: dir)
        XCTAssertThrowsError(try SyntheticPersonaChat.read(bad, source: "spc")) { XCTAssertTrue("\($0)".hasSuffix("bad.csv:2: empty 'user 2 personas'")) }
        let missing = try write("user 1 personas,conv\na,b\n", "missing.csv", in: dir)
        XCTAssertThrowsError(try SyntheticPersonaChat.read(missing, source: "spc")) { XCTAssertTrue("\($0)".contains("missing.csv:1: missing column 'user 2 personas'")) }
    }

    func testPersonaMapErrors() throws {
        let dir = try temporaryDirectory()
        XCTAssertEqual(try PersonaMap.read(write("{\"7\": [[\"i am tall\"], [\"i am tall\", \"i run\"]]}", "m.json", in: dir)), ["7": [["i am tall"], ["i am tall", "i run"]]])
        XCTAssertThrowsError(try PersonaMap.read(write("{\"7\": [\"i am tall\"]}", "m.json", in: dir))) { XCTAssertTrue("\($0)".contains("m.json: expected {cluster id: [[sentence]]} at 7")) }
    }

    /// The real files read completely with the documented counts.
    func testRealPersonaChat() throws {
        let root = try RealData.file("personachat")
        let convai = try ConvAI2.read(selfFile: root.appendingPathComponent("valid_self_original_no_cands.txt"),
                                      otherFile: root.appendingPathComponent("valid_other_original_no_cands.txt"), source: "convai2-valid")
        XCTAssertEqual(convai.count, 1000)
        XCTAssertEqual(convai.reduce(0) { $0 + $1.turns.filter { $0.speaker == 1 }.count }, 7801)
        XCTAssertEqual(convai[0].personas[1].first, "i read twenty books a year.")
        XCTAssertEqual(convai[0].personas[0].first, "horror movies are my favorites.")
        let (valid, _) = try SyntheticPersonaChat.read(root.appendingPathComponent("spc_valid.csv"), source: "spc-valid")
        let (test, repairs) = try SyntheticPersonaChat.read(root.appendingPathComponent("spc_test.csv"), source: "spc-test")
        XCTAssertEqual(valid.count, 1000)
        XCTAssertEqual(test.count, 967)  // 968 rows, one with an empty conversation
        XCTAssertEqual(repairs.emptyConversations, 1)
        XCTAssertEqual(valid[0].turns.first, Utterance(speaker: 0, text: "Hi!"))
        XCTAssertEqual(try PersonaMap.read(root.appendingPathComponent("persona_map_train.json")).count, 1155)
    }
}
