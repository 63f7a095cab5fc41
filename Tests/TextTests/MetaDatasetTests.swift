import XCTest
@testable import Text

final class MetaDatasetTests: XCTestCase {
    func testNormalizerMatchesMapWording() {
        XCTAssertEqual(PersonaNormalizer.normalize("I'm a stunt double as my second job."), "i am a stunt double as my second job")
        XCTAssertEqual(PersonaNormalizer.normalize("she doesn t want me to"), PersonaNormalizer.normalize("She doesn't want me to!"))
        XCTAssertEqual(PersonaNormalizer.normalize("I won't, it’s late"), "i will not it is late")
        XCTAssertEqual(PersonaNormalizer.normalize("i can t make myself go"), "i can not make myself go")
    }

    let maps: [MetaSplit: [String: [[String]]]] = [
        .train: ["1": [["i like cats", "i am tall", "i run"]]],
        .valid: ["1": [["i like dogs", "i am short", "i swim"], ["i like dogs", "i am short"]]],
        .test: ["5": [["i love pizza", "i do not drive", "i am old"]]],
    ]

    func dialogue(_ index: Int, _ a: [String], _ b: [String]) -> PersonaDialogue {
        PersonaDialogue(source: "s", index: index, personas: [a, b],
                        turns: [Utterance(speaker: 0, text: "hi"), Utterance(speaker: 1, text: "hello"), Utterance(speaker: 0, text: "bye")])
    }

    func testSidesJoinClustersAndExamples() {
        let dialogues = [
            dialogue(1, ["I like cats.", "I'm tall."], ["I like dogs.", "I'm short.", "I swim."]),
            dialogue(2, ["I love pizza.", "I don't drive."], ["Nothing in common.", "At all."]),
        ]
        let data = PersonaMetaDataset(dialogues: dialogues, maps: maps, policy: .personaMaps)
        XCTAssertEqual(data.tasks.map(\.id), ["test/5", "train/1", "unmatched/1", "valid/1"])
        XCTAssertEqual(data.tasks.map(\.split), [.test, .train, .train, .valid])
        XCTAssertEqual(data.unmatchedPersonas, 1)
        XCTAssertEqual(data.unmatchedSides, 1)
        let cats = data.tasks[1].dialogues[0]
        // Speaker 0's turn "bye" has history; its first turn "hi" has none and is no example.
        XCTAssertEqual(cats.examples, [PersonaExample(persona: ["I like cats.", "I'm tall."], history: ["hi", "hello"], response: "bye")])
        XCTAssertEqual(data.tasks[3].dialogues[0].examples.map(\.response), ["hello"])
        let stats = MetaDatasetStatistics(data.tasks(in: .train))
        XCTAssertEqual([stats.personas, stats.dialogues, stats.examples], [2, 2, 2])
    }

    func testSeededClusterSplitIsDisjointAndDeterministic() {
        var maps: [MetaSplit: [String: [[String]]]] = [:]
        var dialogues: [PersonaDialogue] = []
        for c in 0..<40 {
            maps[.valid, default: [:]]["\(c)"] = [["persona \(c) a", "persona \(c) b"]]
            for d in 0..<3 { dialogues.append(dialogue(c * 3 + d, ["persona \(c) a.", "persona \(c) b."], ["persona \((c + 1) % 40) a", "persona \((c + 1) % 40) b"])) }
        }
        let a = PersonaMetaDataset(dialogues: dialogues, maps: maps, seed: 3)
        let b = PersonaMetaDataset(dialogues: dialogues, maps: maps, seed: 3)
        let c = PersonaMetaDataset(dialogues: dialogues, maps: maps, seed: 4)
        XCTAssertEqual(a.tasks, b.tasks)
        XCTAssertNotEqual(a.tasks.map(\.split), c.tasks.map(\.split))
        XCTAssertEqual(MetaSplit.allCases.map { a.tasks(in: $0).count }, [28, 4, 8])
        XCTAssertEqual(Set(a.tasks.map(\.id)).count, 40)  // each cluster in exactly one split
        XCTAssertTrue(a.tasks.allSatisfy { $0.dialogues.count == 6 })
    }

    func testRealMetaDataset() throws {
        _ = try RealData.file("personachat")
        let (data, dialogues, _) = try PersonaMetaDataset.load(root: RealData.root)
        XCTAssertEqual(dialogues.count, 1000 + 1000 + 967)
        XCTAssertEqual(data.tasks.reduce(0) { $0 + $1.dialogues.count }, 2 * dialogues.count)
        XCTAssertEqual(data.unmatchedPersonas, 0)
        let train = Set(data.tasks(in: .train).map(\.id)), test = Set(data.tasks(in: .test).map(\.id))
        XCTAssertTrue(train.isDisjoint(with: test))
        XCTAssertEqual(MetaSplit.allCases.map { data.tasks(in: $0).count }, [140, 20, 40])
        // Meta-test has human (ConvAI2) dialogues.
        XCTAssertEqual(MetaDatasetStatistics(data.tasks(in: .test), source: "convai2-valid").personas, 20)
        let mapOnly = PersonaMetaDataset(dialogues: dialogues, maps: try MetaSplit.allCases.reduce(into: [:]) {
            $0[$1] = try PersonaMap.read(RealData.root.file("personachat/persona_map_\($1.rawValue).json"))
        }, policy: .personaMaps)
        XCTAssertEqual(mapOnly.tasks(in: .train).count, 0)  // why the default policy re-splits
    }
}
