import TestSupport
import XCTest
@testable import Text

/// Readers of what users type or hand in: every problem is a TextError naming file and line, CRLF and
/// blank lines are read as a person means them, and random damage never crashes a reader.
final class InputRobustnessTests: XCTestCase {
    func testTextFileSplitsCRLFKeepsBlankLinesAndNamesProblems() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        XCTAssertEqual(TextFile.lines("a\r\n\r\nb\r\n"), ["a", "", "b"])
        XCTAssertEqual(TextFile.lines("a\n\nb"), ["a", "", "b"])
        XCTAssertEqual(TextFile.lines("a\rb\n"), ["a\rb"], "a lone CR inside a line is kept")
        XCTAssertThrowsError(try TextFile.string(folder.file("missing.txt"))) { XCTAssertTrue("\($0)".hasSuffix("missing.txt: no such file"), "\($0)") }
        XCTAssertThrowsError(try TextFile.string(folder.url)) { XCTAssertTrue("\($0)".hasSuffix("is a folder, expected a file"), "\($0)") }
        try Data("good line\nbad \u{FF}".utf8.map { $0 } + [0xFF, 0x0A]).write(to: folder.file("latin.txt"))
        XCTAssertThrowsError(try TextFile.string(folder.file("latin.txt"))) { XCTAssertTrue("\($0)".hasSuffix("latin.txt:2: not valid UTF-8"), "\($0)") }
        try Data("abc".utf8).write(to: folder.file("big.txt"))
        XCTAssertThrowsError(try TextFile.string(folder.file("big.txt"), maximumBytes: 2))
        XCTAssertTrue(TextFile.hasExtension(URL(fileURLWithPath: "/x/P.JSONL"), ["jsonl"]))
        XCTAssertFalse(TextFile.hasExtension(URL(fileURLWithPath: "/x/p.txt"), ["jsonl"]))
    }

    func testPersonaDialogueFileReadsJSONLAndConvAI2() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let good = folder.file("persona.JSONL")   // upper-case extension: still JSONL
        try """
        {"persona": ["i love cats."], "pairs": [["hi!", "hello, i have two cats."], ["nice", "they are fluffy."]]}\r
        \r
        {"pairs": [["how are you?", "great, my cats are asleep."]]}\r

        """.write(to: good, atomically: true, encoding: .utf8)
        let file = try PersonaDialogueFile(url: good)
        XCTAssertEqual(file.dialogues, 2)
        XCTAssertEqual(file.persona, ["i love cats."])
        XCTAssertEqual(file.examples.count, 3)
        XCTAssertEqual(file.examples[1].history, ["hi!", "hello, i have two cats.", "nice"])
        XCTAssertEqual(file.examples[1].response, "they are fluffy.")

        // The corpus's own "both personas" layout: partner's persona lines are read, not an error.
        let convai2 = folder.file("persona.txt")
        try "1 your persona: i am a nurse.\r\n2 partner's persona: i like dogs.\r\n3 hi\thello , i work nights .\r\n"
            .write(to: convai2, atomically: true, encoding: .utf8)
        let text = try PersonaDialogueFile(url: convai2)
        XCTAssertEqual(text.persona, ["i am a nurse."])
        XCTAssertEqual(text.examples.map(\.response), ["hello , i work nights ."])
        let episodes = try ConvAI2.readEpisodes(convai2, personaPrefix: "your persona:")
        XCTAssertEqual(episodes[0].partnerPersona, ["i like dogs."])
    }

    func testPersonaDialogueFileNamesEachProblem() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        func problem(_ text: String, _ name: String = "p.jsonl", limits: PersonaDialogueFile.Limits = .init()) -> String {
            try? text.write(to: folder.file(name), atomically: true, encoding: .utf8)
            do { _ = try PersonaDialogueFile(url: folder.file(name), limits: limits); return "no error" } catch { return "\(error)" }
        }
        let ok = #"{"pairs": [["hi", "hello"]]}"#
        XCTAssertTrue(problem(ok + "\n{\"pairs\": [[\"hi\"]]}\n").hasSuffix("p.jsonl:2: pairs[0] must be two strings [partner's turn, answer]"))
        XCTAssertTrue(problem(ok + "\n{\"pairs\": [\n").contains("p.jsonl:2: not valid JSON"))
        XCTAssertTrue(problem("{\"persona\": [\"a\"]}\n").hasSuffix("p.jsonl:1: missing \"pairs\": [[partner's turn, answer], ...]"))
        XCTAssertTrue(problem("{\"pairs\": []}\n").contains("p.jsonl:1: \"pairs\" is empty"))
        XCTAssertTrue(problem("{\"persona\": \"i like cats\", \"pairs\": [[\"a\", \"b\"]]}\n").hasSuffix("p.jsonl:1: \"persona\" must be a list of sentences (strings)"))
        XCTAssertTrue(problem("{\"pairz\": [[\"a\", \"b\"]]}\n").contains("p.jsonl:1: unknown key(s) [\"pairz\"]"))
        XCTAssertTrue(problem("[1, 2]\n").contains("p.jsonl:1: expected a JSON object"))
        XCTAssertTrue(problem("\n\n").hasSuffix("p.jsonl: no dialogues found"))
        XCTAssertTrue(problem("{\"pairs\": [[\"a\", \"  \"]]}\n").hasSuffix("every answer of this dialogue is empty"))
        var small = PersonaDialogueFile.Limits()
        small.turnsPerDialogue = 2
        XCTAssertTrue(problem("{\"pairs\": [[\"a\", \"b\"], [\"a\", \"b\"], [\"a\", \"b\"]]}\n", limits: small).contains("dialogue of 3 turns; at most 2"))
        small = .init()
        small.dialogues = 1
        XCTAssertTrue(problem(ok + "\n" + ok + "\n", limits: small).contains("2 dialogues; at most 1"))
        XCTAssertTrue(problem("1 your persona: a.\n2 hello\n", "p.txt").hasSuffix("p.txt:2: dialogue line without a tab between utterance and response"))
    }

    /// A default-size limit stops a runaway file: one dialogue of 20,000 turns is refused at once instead of
    /// building 20,000 ever-longer histories.
    func testHugeDialogueIsRefusedQuickly() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let pairs = Array(repeating: #"["what do you do?", "i am a nurse."]"#, count: 20_000).joined(separator: ", ")
        try "{\"pairs\": [\(pairs)]}\n".write(to: folder.file("huge.jsonl"), atomically: true, encoding: .utf8)
        let start = Date()
        XCTAssertThrowsError(try PersonaDialogueFile(url: folder.file("huge.jsonl"))) {
            XCTAssertTrue("\($0)".contains("dialogue of 20000 turns; at most 100"), "\($0)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
    }

    // MARK: fuzzing: seeded mutations of valid files; each must be read or refused with a TextError.

    func testFuzzPersonaDialogueFiles() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let jsonl = Data("""
        {"persona": ["i love cats.", "i am a nurse."], "pairs": [["hi!", "hello, i have two cats."], ["nice", "they are fluffy."]]}
        {"pairs": [["how are you?", "great, my cats are asleep."]]}

        """.utf8)
        let counts = Fuzz.run(jsonl, file: folder.file("f.jsonl"), count: Fuzz.iterations(3000), seed: 1,
                              accepts: { $0 is TextError }) { _ = try PersonaDialogueFile(url: $0) }
        XCTAssertGreaterThan(counts.read, 0)
        XCTAssertGreaterThan(counts.refused, 0)
        let text = Data("1 your persona: i am a nurse.\n2 partner's persona: i like dogs.\n3 hi\thello .\n4 what?\ti work nights .\n1 your persona: x.\n2 a\tb\n".utf8)
        let textCounts = Fuzz.run(text, file: folder.file("f.txt"), count: Fuzz.iterations(3000), seed: 2,
                                  accepts: { $0 is TextError }) { _ = try PersonaDialogueFile(url: $0) }
        XCTAssertGreaterThan(textCounts.read, 0)
        XCTAssertGreaterThan(textCounts.refused, 0)
    }

    func testFuzzVocabularyAndPersonaMap() throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let vocabulary = Data((Vocabulary.specials + ["i", "like", "cats", "."]).joined(separator: "\n").utf8 + [0x0A])
        Fuzz.run(vocabulary, file: folder.file("vocab.txt"), count: Fuzz.iterations(2000), seed: 3,
                 accepts: { $0 is TextError }) { _ = try Vocabulary.load(from: $0) }
        let map = Data(#"{"0": [["i like cats.", "i am a nurse."], ["i love cats ."]], "1": [["i live in ohio."]]}"#.utf8)
        Fuzz.run(map, file: folder.file("map.json"), count: Fuzz.iterations(2000), seed: 4,
                 accepts: { $0 is TextError }) { _ = try PersonaMap.read($0) }
    }

    func testProtectedFoldersAreFoundUnderHome() {
        let home = PamlHome.folder()
        XCTAssertNotNil(PamlHome.protectedFolder(containing: home.appendingPathComponent("Checkpoints/paml")))
        XCTAssertNotNil(PamlHome.protectedFolder(containing: home.appendingPathComponent("Evaluation")))
        XCTAssertNil(PamlHome.protectedFolder(containing: home.appendingPathComponent("runs/paml")))
        XCTAssertNil(PamlHome.protectedFolder(containing: home.appendingPathComponent("CheckpointsOld")))
        XCTAssertEqual(PamlHome.folder(environment: ["PAML_HOME": "/opt/paml"]).path, "/opt/paml")
    }
}
