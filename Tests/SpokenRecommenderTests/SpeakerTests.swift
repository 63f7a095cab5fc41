import Dialogue
import Foundation
import NN
import Tensor
import TestSupport
import Text
import XCTest
@testable import Recommender
@testable import SpokenRecommender

/// The speaker's data path: reading actions from names, voice specs and files, the action prompt, slot-exact
/// decoding of a speaker, and sessions in words.
final class SpeakerTests: XCTestCase {
    func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("speaker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try body(dir)
    }

    /// Six items over four attributes (two of them decades), names that test case and word matching.
    func dataset() throws -> CRSDataset {
        try CRSDataset(name: "hand", attributeCount: 4,
                       itemAttributes: [[0, 2], [1], [0, 3], [1, 2], [0], [3]], userAttributes: [[0, 1, 2, 3], [0, 2], [0, 1, 2, 3]],
                       userItems: [[0, 2], [4], [0, 2, 3]], sampledInteractions: [[0, 2], [4], [0, 2, 3]], trainUsers: [0], validUsers: [1],
                       testUsers: [2],
                       attributeNames: ["rock", "new wave", "90s", "singer-songwriter"],
                       itemNames: [0: "Radiohead", 1: "Yes", 2: "Death Cab for Cutie", 3: "Sigur Rós", 4: "The Band", 5: "AC/DC"])
    }

    func testLineReaderFindsAttributesErasAndArtistLists() throws {
        let reader = ActionLineReader(dataset: try dataset(), commonWords: ["yes", "band"])
        XCTAssertEqual(reader.read("howdy ! do you like rock music ?").kind, .askGenre)
        XCTAssertEqual(reader.read("howdy ! do you like rock music ?").tokens, ["howdy", "!", "do", "you", "like", "xattr", "music", "?"])
        XCTAssertEqual(reader.read("are you into New Wave ?").tokens, ["are", "you", "into", "xattr", "?"])
        XCTAssertEqual(reader.read("do you like the 90s ?").kind, .askEra)
        XCTAssertEqual(reader.read("any singer-songwriter fans here ?").kind, .askGenre)
        let list = reader.read("partner , try Radiohead, Death Cab for Cutie or Sigur Rós !")
        XCTAssertEqual(list.kind, .recommend)
        XCTAssertEqual(list.tokens, ["partner", ",", "try", "xitem", "!"])
        XCTAssertEqual(list.names, "radiohead, death cab for cutie or sigur rós")
        // A recommendation wins over an attribute in the same line.
        XCTAssertEqual(reader.read("for rock , listen to Radiohead .").kind, .recommend)
        // Artist names count only as the dataset writes them; one-word common names never.
        XCTAssertNil(reader.read("radiohead is fine .").kind)
        XCTAssertNil(reader.read("Yes , i do .").kind)
        XCTAssertNil(reader.read("happy trails , partner !").kind)
        XCTAssertEqual(reader.read("happy trails , partner !").tokens, ["happy", "trails", ",", "partner", "!"])
    }

    /// Damaged lines never trap the reader; a line read as an action holds exactly its placeholder once.
    func testLineReaderOnDamagedLines() throws {
        let reader = ActionLineReader(dataset: try dataset(), commonWords: ["yes"])
        let original = Data("partner , try Radiohead, Death Cab for Cutie or Sigur Rós ! do you like the 90s or rock ?".utf8)
        for mutant in Fuzz.mutants(of: original, count: Fuzz.iterations(2000), seed: 4) {
            let line = String(decoding: mutant, as: UTF8.self)
            let (kind, tokens, _) = reader.read(line)
            if let kind {
                XCTAssertTrue(SlotFiller.isWellFormed(tokens, kind: kind), "\(line) -> \(tokens)")
            } else {
                XCTAssertFalse(tokens.contains { ActionSlot.all.contains($0) } && !line.contains("xattr") && !line.contains("xitem"))
            }
        }
    }

    /// The context of a written line comes from the rule reading of the user's last turn.
    func testPromptContextFollowsTheRuleReadingOfTheLastReply() {
        XCTAssertEqual(SpeakerPrompt.context(history: ["hi ! can you recommend some music ?"]), .start)
        XCTAssertEqual(SpeakerPrompt.context(history: ["hi", "do you like rock ?", "yes , i love it ."]), .yes)
        XCTAssertEqual(SpeakerPrompt.context(history: ["hi", "do you like rock ?", "nope , not my thing ."]), .no)
        XCTAssertEqual(SpeakerPrompt.context(history: ["hi", "do you like rock ?", "hmm ."]), .no, "unclear counts as no")
    }

    func spec(_ name: String = "cowboy") -> VoiceSpec {
        VoiceSpec(name: name, split: .test, persona: ["i am a cowboy ."], askGenre: ["howdy ! do you like {name} ?"],
                  askEra: ["partner , the {name} ?"], recommend: ["saddle up for {name} !"], yes: ["yeehaw !"], no: ["shucks ."],
                  closing: ["happy trails !"])
    }

    func testVoiceSpecsLoadAndRefuseFramesWithoutOneName() throws {
        try withTemporaryDirectory { dir in
            let good = dir.appendingPathComponent("good.json")
            try JSONEncoder().encode([spec()]).write(to: good)
            XCTAssertEqual(try VoiceSpec.load(good), [spec()])
            var bad = spec()
            bad.recommend = ["saddle up !"]
            let badFile = dir.appendingPathComponent("bad.json")
            try JSONEncoder().encode([bad]).write(to: badFile)
            XCTAssertThrowsError(try VoiceSpec.load(badFile)) { XCTAssertTrue("\($0)".contains("recommend needs frames with exactly one {name}"), "\($0)") }
            let twice = dir.appendingPathComponent("twice.json")
            try JSONEncoder().encode([spec(), spec()]).write(to: twice)
            XCTAssertThrowsError(try VoiceSpec.load(twice))
            let notJSON = dir.appendingPathComponent("broken.json")
            try Data("[{".utf8).write(to: notJSON)
            XCTAssertThrowsError(try VoiceSpec.load(notJSON)) { XCTAssertTrue("\($0)".contains("broken.json"), "\($0)") }
        }
    }

    /// Generated dialogues: every system line reads back as its action, and the JSONL line round-trips through the
    /// persona-file reader (the path a user's --voice file takes).
    func testVoiceDialoguesReadBackAndRoundTripThroughPersonaFiles() throws {
        let d = try dataset()
        let writer = VoiceWriter(dataset: d, maxTurns: 4)
        let dialogues = writer.dialogues(spec(), users: d.testUsers, count: 6, seed: 3)
        XCTAssertEqual(dialogues.count, 6)
        XCTAssertEqual(dialogues, writer.dialogues(spec(), users: d.testUsers, count: 6, seed: 3), "seeded")
        let reader = ActionLineReader(dataset: d, commonWords: ["yes"])
        var recommendations = 0
        for dialogue in dialogues {
            XCTAssertEqual(dialogue.pairs.count, dialogue.actions.count)
            for (pair, action) in zip(dialogue.pairs, dialogue.actions) {
                XCTAssertEqual(reader.read(pair.system).kind, action.map { ActionKind.of($0, in: d) }, pair.system)
                if case .recommend = action { recommendations += 1 }
            }
            XCTAssertTrue(dialogue.pairs.dropFirst().allSatisfy { !$0.user.isEmpty })
        }
        XCTAssertGreaterThan(recommendations, 0)
        try withTemporaryDirectory { dir in
            let file = dir.appendingPathComponent("cowboy.jsonl")
            try Data(dialogues.map(\.jsonLine).joined(separator: "\n").utf8).write(to: file)
            let read = try PersonaDialogueFile(url: file)
            XCTAssertEqual(read.persona, ["i am a cowboy ."])
            XCTAssertEqual(read.dialogues, 6)
            XCTAssertEqual(read.examples.map(\.response), dialogues.flatMap { $0.pairs.map(\.system) })
            let encoder = ExampleEncoder(vocabulary: try Vocabulary(words: SpeakerPrompt.words + ["howdy", "!", "do", "you", "like", "?"]),
                                         format: DialogueFormat())
            let examples = SpeakerExamples(encoder: encoder, reader: reader).dialogues(read)
            XCTAssertEqual(examples.map(\.count), dialogues.map(\.pairs.count))
            // An action line's source ends with the prompt: marker, kind words, slot.
            let first = examples[0][0]
            let marker = encoder.vocabulary.id(SpeakerPrompt.marker)
            XCTAssertTrue(first.source.contains(marker))
            let kind = ActionKind.of(dialogues[0].actions[0]!, in: d)
            XCTAssertEqual(first.source.last, encoder.vocabulary.id(kind.slot))
        }
    }

    func testAddingWordsKeepsOldRowsAndRoundTrips() throws {
        let vocabulary = try Vocabulary(words: ["do", "you", "like", "rock", "?"])
        let config = DialogueModelConfig(system: .dialogue, model: Seq2SeqConfig(vocabularySize: vocabulary.count, embeddingWidth: 8,
            transformer: TransformerConfig(layers: 1, width: 8, heads: 2, keyDepth: 8, valueDepth: 8, filterSize: 8, inputDropout: 0,
                                           layerDropout: 0, attentionDropout: 0, reluDropout: 0)), format: DialogueFormat(), dataSeed: 0)
        let base = DialogueCheckpoint(config: config, parameters: Seq2Seq(config: config.model).initialParameters(seed: 1), vocabulary: vocabulary)
        var rng = SeededGenerator(seed: 2)
        let rows = Tensor.randomNormal([3, 8], std: 1, using: &rng)
        let grown = try base.addingWords(SpeakerPrompt.words, rows: rows)
        XCTAssertEqual(grown.vocabulary.count, vocabulary.count + 3)
        XCTAssertEqual(grown.config.model.vocabularySize, vocabulary.count + 3)
        for token in vocabulary.tokens { XCTAssertEqual(grown.vocabulary.id(token), vocabulary.id(token)) }
        let old = base.parameters["embedding.weight"]!.scalars, new = grown.parameters["embedding.weight"]!.scalars
        XCTAssertEqual(Array(new.prefix(old.count)), old)
        XCTAssertEqual(Array(new.suffix(24)), rows.scalars)
        XCTAssertThrowsError(try base.addingWords(["rock"], rows: Tensor(shape: [1, 8], scalars: [Float](repeating: 0, count: 8))), "a word already in the vocabulary")
        try withTemporaryDirectory { dir in
            var marked = grown
            marked.metadata[SpeakerPrompt.metadataKey] = SpeakerPrompt.metadataValue
            try marked.save(to: dir)
            let loaded = try DialogueCheckpoint(folder: dir)
            XCTAssertEqual(loaded.vocabulary, grown.vocabulary)
            XCTAssertEqual(loaded.parameters["embedding.weight"]!.scalars, new)
            // A speaker checkpoint reads the conversation; its source ends with the action prompt.
            let realiser = try ActionRealiser(checkpoint: loaded, strategy: .greedy, style: nil, styleSteps: 0, styleLearningRate: 0, log: { _ in })
            XCTAssertTrue(realiser.readsConversation)
            // The prompt turn: marker, answer context, kind words, slot ("yes" and "recommend" are not in this vocabulary).
            let source = realiser.source(.recommend, context: .yes, history: ["do you like rock ?"])
            XCTAssertEqual(Array(source.suffix(4)), [grown.vocabulary.id(SpeakerPrompt.marker), Vocabulary.unkID, Vocabulary.unkID,
                                                     grown.vocabulary.id(ActionSlot.item)])
            XCTAssertEqual(Array(source.prefix(5)), ["do", "you", "like", "rock", "?"].map(grown.vocabulary.id))
            XCTAssertEqual(SpeakerPrompt.turn(.askEra, context: .no), "__act__ no ask era xattr")
            // Slot-exact decoding holds for an untrained speaker too: the placeholder exactly once.
            for seed in 0..<5 as Range<UInt64> {
                let tokens = realiser.decode(.askGenre, context: .start, history: ["do you like rock ?"], seed: seed)
                XCTAssertEqual(tokens.filter { $0 == ActionSlot.attribute }.count, 1, "\(tokens)")
                XCTAssertFalse(tokens.contains(ActionSlot.item))
            }
            // The action-only model does not read the conversation.
            let plain = try ActionRealiser(checkpoint: base, strategy: .greedy, style: nil, styleSteps: 0, styleLearningRate: 0, log: { _ in })
            XCTAssertFalse(plain.readsConversation)
        }
    }

    /// Sessions in words with the template sentences and plain replies end as the symbolic sessions do; on symbols they
    /// are the simulator's own sessions.
    func testSessionsInWordsMatchSymbolsWhenEveryReplyIsRead() throws {
        let d = try dataset()
        let simulator = UserSimulator(dataset: d, source: .observed, maxTurns: 5, itemOrder: d.popularityOrder(users: d.trainUsers))
        let speaker = SpokenRecommender(simulator: simulator, policy: MaxEntropyPolicy(listSize: 2), realiser: nil, reader: ReplyReader())
        let replies = WordedAnswers(reader: ReplyReader(), dataset: d, familyWeights: [1, 0, 0])
        for index in 0..<8 {
            var rng = UserSimulator.episodeGenerator(seed: 5, index: index)
            let session = simulator.drawSession(users: d.testUsers, index: index, using: &rng)
            var a = rng, b = rng, c = rng
            let symbols = speaker.session(session, inWords: false, replies: replies, rng: &a, seed: 1)
            let words = speaker.session(session, inWords: true, replies: replies, rng: &b, seed: 1)
            let truth = simulator.run(MaxEntropyPolicy(listSize: 2), session: session, rng: &c, record: true)
            XCTAssertEqual(symbols.succeeded, truth.succeeded)
            XCTAssertEqual(symbols.turns.count, truth.turns)
            XCTAssertEqual(words.succeeded, symbols.succeeded)
            XCTAssertEqual(words.turns.count, symbols.turns.count)
            XCTAssertEqual(words.understood, words.turns.count, words.turns.map(\.user).joined(separator: " | "))
            XCTAssertTrue(words.turns.allSatisfy { $0.user != SpokenRecommender.confusedReply && !$0.system.isEmpty })
        }
    }
}
