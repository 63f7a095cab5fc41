import Foundation
import Tensor
import TestSupport
import Text
import XCTest
@testable import NLI

/// The persona NLI generator: relations, negations and swaps, class balance, cluster splits, no meta-test leak.
final class PersonaNLITests: XCTestCase {
    func fact(_ sentence: String) -> PersonaFact { PersonaFact(words: PersonaNLIGenerator.words(sentence)) }

    func testSentencesAreParsedIntoRelations() {
        XCTAssertEqual(fact("i have 3 dogs .").relation, .have)
        XCTAssertEqual(fact("i have 3 dogs .").count, "three")
        XCTAssertEqual(fact("I have two kids").value, ["kids"])
        XCTAssertTrue(fact("i'm a nurse.").isJob)
        XCTAssertTrue(fact("i am an environmental engineer").isJob)
        XCTAssertFalse(fact("i am a huge fan of baseball").isJob)
        XCTAssertEqual(fact("my favorite color is blue").relation, .favorite)
        XCTAssertEqual(fact("my favorite color is blue").category, "color")
        XCTAssertEqual(fact("i live in texas").relation, .liveIn)
        XCTAssertNotEqual(fact("i live in a van down by the river").relation, .liveIn, "a van is not a place to swap")
        XCTAssertEqual(fact("i am 25 years old").relation, .age)
        XCTAssertEqual(fact("i am married .").relation, .marital)
        XCTAssertEqual(fact("i love dogs").relation, .like)
        XCTAssertEqual(fact("i hate cats").relation, .dislike)
        XCTAssertTrue(fact("i work as a barista").isExclusive)
        XCTAssertFalse(fact("i love dogs").isExclusive, "liking one thing does not exclude liking another")
    }

    func testNegationsContradictTheFact() {
        func negations(_ s: String) -> [String] { PersonaNLIGenerator.negations(fact(s)).map { $0.joined(separator: " ") } }
        XCTAssertTrue(negations("i love dogs").contains("i hate dogs"))
        XCTAssertTrue(negations("i have two kids").contains("i do not have any kids"))
        XCTAssertTrue(negations("i am married").contains("i am single"))
        XCTAssertTrue(negations("i am a vegetarian").contains("i am not a vegetarian"))
        XCTAssertTrue(negations("i do not eat meat").contains("i eat meat"))
        XCTAssertTrue(negations("my dog is named max").contains("my dog is not named max"))
        XCTAssertTrue(negations("i drive a truck").contains("i do not drive a truck"))
        XCTAssertEqual(negations("i am 25 years old"), [], "an age has no negation, only other ages")
        var rng = SeededGenerator(seed: 1)
        XCTAssertNotNil(PersonaNLIGenerator.contradiction(of: "i love dogs .", using: &rng))
        XCTAssertNil(PersonaNLIGenerator.contradiction(of: "i am 25 years old", using: &rng))
    }

    /// 30 small synthetic personas with jobs, homes, pets and likes.
    func sources() -> [PersonaNLISource] {
        let jobs = ["nurse", "teacher", "lawyer", "chef", "pilot", "farmer"], places = ["texas", "ohio", "paris", "boston", "chicago"]
        let pets = ["dogs", "cats", "horses"], likes = ["pizza", "hiking", "jazz", "reading", "soccer", "chess", "painting"]
        let counts = ["two", "three", "four"]
        return (0..<30).map { i in
            let persona = ["i am a \(jobs[i % jobs.count]) .", "i live in \(places[i % places.count]) .",
                           "i have \(counts[i % 3]) \(pets[i % pets.count]) .", "i love \(likes[i % likes.count]) .",
                           "my favorite color is \(["blue", "red", "green", "purple"][i % 4]) ."]
            return PersonaNLISource(cluster: "c\(i)", variants: [persona],
                                    ownUtterances: ["hi ! i am a \(jobs[i % jobs.count]) and i love it",
                                                    "yes , i live in \(places[i % places.count]) with my family","i really love \(likes[i % likes.count]) , do you ?",
                                                    "the weather is nice today"],
                                    partnerUtterances: ["what do you do for a living ?", "i just got back from the gym"])
        }
    }

    func testGeneratedPairsAreBalancedSplitByClusterAndDeterministic() {
        let excluded: Set<String> = ["i love pizza"]
        let generator = PersonaNLIGenerator(sources: sources(), excluded: excluded, seed: 3)
        let split = generator.generate()
        for part in [split.train, split.valid, split.test] {
            XCTAssertFalse(part.isEmpty)
            let counts = NLILabel.allCases.map { label in part.filter { $0.pair.label == label }.count }
            XCTAssertEqual(Set(counts).count, 1, "classes balanced: \(counts)")
        }
        let trainClusters = Set(split.train.map(\.cluster)), validClusters = Set(split.valid.map(\.cluster)), testClusters = Set(split.test.map(\.cluster))
        XCTAssertTrue(trainClusters.isDisjoint(with: validClusters) && trainClusters.isDisjoint(with: testClusters) && validClusters.isDisjoint(with: testClusters))
        for example in split.all {
            XCTAssertNotEqual(PersonaNormalizer.normalize(example.pair.hypothesis), "i love pizza", "excluded sentence used")
        }
        let kinds = Set(split.all.map { $0.pair.label.description + "/" + $0.kind.split(separator: "-").first! })
        for kind in ["entailment/aligned", "entailment/restated", "contradiction/negated", "contradiction/swapped",
                     "contradiction/clash", "neutral/question", "neutral/other"] {
            XCTAssertTrue(kinds.contains(kind), "no \(kind) pairs: \(kinds.sorted())")
        }
        // A swapped count is another count, never the same number in other words.
        for example in split.all where example.kind == "swapped-count" {
            let a = fact(example.pair.premise), b = fact(example.pair.hypothesis)
            XCTAssertNotEqual(a.count, b.count, "\(example.pair)")
        }
        XCTAssertEqual(generator.generate().all, split.all, "same seed, same pairs")
        XCTAssertNotEqual(PersonaNLIGenerator(sources: sources(), excluded: excluded, seed: 4).generate().all, split.all)
    }

    func testHandLabelledRealSetReads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Corpora/persona-nli-real-test.tsv")
        let rows = try HandLabelledPersonaNLI.read(url)
        XCTAssertGreaterThanOrEqual(rows.count, 300)
        let contradictions = rows.filter { $0.pair.label == .contradiction }.count
        XCTAssertGreaterThan(Double(contradictions) / Double(rows.count), 0.28, "about a third contradictions")
        // The persona sentence is the NLI hypothesis, the utterance the premise (as the scorer reads pairs).
        XCTAssertEqual(rows[0].pair.hypothesis, "I work in the healthcare industry.")

        let folder = try TemporaryFolder()
        defer { folder.remove() }
        try "pair_id\tcluster\n".write(to: folder.file("bad.tsv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try HandLabelledPersonaNLI.read(folder.file("bad.tsv"))) { XCTAssertTrue("\($0)".contains("bad.tsv:1: header")) }
        try (HandLabelledPersonaNLI.header.joined(separator: "\t") + "\nr1\tc\t1\town\tjob\ta\tb\tmaybe\n")
            .write(to: folder.file("label.tsv"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try HandLabelledPersonaNLI.read(folder.file("label.tsv"))) { XCTAssertTrue("\($0)".contains("label.tsv:2: label 'maybe'")) }
    }

    /// On the real corpora: no sentence of a meta-valid or meta-test persona appears in any generated pair; the real
    /// test set's clusters are meta-test clusters and the real validation set's meta-valid ones (never trained on).
    func testRealPersonaNLIHasNoMetaTestSentence() throws {
        let root = CorpusRoot()
        guard FileManager.default.fileExists(atPath: root.file("personachat/persona_map_train.json").path) else {
            throw XCTSkip("corpora not found at \(root.url.path)")
        }
        let (dataset, _, _) = try PersonaMetaDataset.load(root: root)
        let generator = try PersonaNLIGenerator.fromCorpora(root)
        let (sources, excluded) = (generator.sources, generator.excluded)
        XCTAssertFalse(excluded.isEmpty)
        let testIDs = Set(dataset.tasks(in: .test).map(\.id)), validIDs = Set(dataset.tasks(in: .valid).map(\.id))
        XCTAssertTrue(sources.allSatisfy { !testIDs.contains($0.cluster) && !validIDs.contains($0.cluster) })
        let split = generator.generate()
        XCTAssertGreaterThan(split.train.count, 5000)
        for example in split.all {
            XCTAssertFalse(excluded.contains(PersonaNormalizer.normalize(example.pair.hypothesis)), "leak: \(example.pair.hypothesis)")
        }
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Corpora/persona-nli-real-test.tsv")
        func clusters(_ url: URL) throws -> Set<String> {
            Set(try String(contentsOf: url, encoding: .utf8).split(separator: "\n").dropFirst().map { String($0.split(separator: "\t")[1]) })
        }
        XCTAssertTrue(try clusters(url).isSubset(of: testIDs), "real test clusters outside meta-test")
        let valid = url.deletingLastPathComponent().appendingPathComponent("persona-nli-real-valid.tsv")
        XCTAssertTrue(try clusters(valid).isSubset(of: validIDs), "real validation clusters outside meta-valid")
    }
}
