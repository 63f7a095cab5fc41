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
        XCTAssertTrue(negations("i am a doctor").contains("i used to be a doctor"), "a former job is not the job")
        XCTAssertTrue(negations("i am retired").contains("i wish i was retired"), "wishing for a state denies it")
        XCTAssertTrue(negations("i have a dog").contains("i wish i had a dog"))
        let restated = PersonaNLIGenerator.restatements(fact("i do not have a smartphone")).map { $0.joined(separator: " ") }
        XCTAssertTrue(restated.contains("i have no smartphone"), "a denial restated in other words: \(restated)")
        XCTAssertTrue(restated.contains("i never have a smartphone"))
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
        // Other pairs (more utterances) never move a cluster to another split.
        var more = sources()
        more[0].ownUtterances += ["i am a nurse at a home , and i love it .", "i've no car ."]
        let other = PersonaNLIGenerator(sources: more, excluded: excluded, seed: 3).generate()
        XCTAssertNotEqual(other.all, split.all)
        XCTAssertEqual(Set(other.test.map(\.cluster)), testClusters)
        XCTAssertEqual(Set(other.valid.map(\.cluster)), validClusters)
    }

    func stage(_ clause: String) -> LifeStage? { LifeStage.of(PersonaNLIGenerator.words(clause)) }

    func testLifeStagesAreReadFromFirstPersonClauses() {
        XCTAssertEqual(stage("i'm 24 we have difference just one year"), LifeStage(stage: .adult, age: 24))
        XCTAssertEqual(stage("i am 100 years old ."), LifeStage(stage: .old, age: 100))
        XCTAssertEqual(stage("i just turned 13"), LifeStage(stage: .child, age: 13))
        XCTAssertEqual(stage("healthy for a 40 year old car salesman"), LifeStage(stage: .adult, age: 40))
        XCTAssertEqual(stage("i just started the third grade and love to write poetry")?.stage, .child)
        XCTAssertEqual(stage("i am a boy")?.stage, .child)
        XCTAssertEqual(stage("i am retired and living the great life")?.stage, .old)
        XCTAssertEqual(stage("i have amazing children and grandchildren")?.stage, .old)
        XCTAssertEqual(stage("i've three kids that are great and 10 grand children")?.stage, .old)
        XCTAssertNil(stage("i want grandchildren someday"), "wanting them is not having them")
        XCTAssertNil(stage("my son is a 5 year old"), "someone else's age")
        XCTAssertNil(stage("i am 5 minutes away"), "a number that is not an age")
        XCTAssertNil(stage("i am a nurse"))
        XCTAssertNil(stage("i am in the third grade of my career")?.age)
    }

    func testLifeStageConflicts() {
        let boy = LifeStage(stage: .child, age: nil), retired = LifeStage(stage: .old, age: nil)
        let century = LifeStage(stage: .old, age: 100)
        func age(_ n: Int) -> LifeStage { LifeStage(stage: n < 18 ? .child : n >= 65 ? .old : .adult, age: n) }
        XCTAssertTrue(boy.conflicts(with: age(40)))
        XCTAssertTrue(age(40).conflicts(with: boy), "symmetric")
        XCTAssertFalse(boy.conflicts(with: age(19)), "a 19-year-old may still call himself a boy")
        XCTAssertTrue(boy.conflicts(with: retired))
        XCTAssertTrue(century.conflicts(with: age(24)))
        XCTAssertFalse(retired.conflicts(with: age(34)), "early retirement is possible")
        XCTAssertTrue(retired.conflicts(with: age(19)))
        XCTAssertFalse(century.conflicts(with: age(70)))
        XCTAssertFalse(age(30).conflicts(with: age(45)), "two adult ages are the age relation's job, not the stage's")
    }

    func testQuestionsAreDroppedFromClauses() {
        XCTAssertEqual(PersonaNLIGenerator.declarativeClauses("i am a homemaker . you ?"), ["i am a homemaker "])
        XCTAssertEqual(PersonaNLIGenerator.declarativeClauses("are you a nurse ? i am a teacher , i love it"),
                       [" i am a teacher ", " i love it"])
        XCTAssertEqual(PersonaNLIGenerator.declarativeClauses("what do you do?"), [])
        XCTAssertEqual(PersonaNLIGenerator.declarativeClauses("i am 40 , how about you ?"), ["i am 40 "])
    }

    func testAgeClashesAreGenerated() {
        var personas = sources()
        for i in 0..<30 {
            // Distinct sentences (a sentence is used by the first cluster that has it): old and child ages.
            personas[i].variants[0].append(i % 2 == 0 ? "i am \(70 + i) years old ." : "i am \(i / 2 + 1) years old .")
            personas[i].partnerUtterances.append(["i am \(20 + i) , how about you ?", "i just started the third grade ."][i % 2])
        }
        let split = PersonaNLIGenerator(sources: personas, excluded: [], seed: 3).generate(perClassCap: 100_000)
        let clashes = split.all.filter { $0.kind == "clash-life-stage" }
        XCTAssertFalse(clashes.isEmpty, "no clash-life-stage pairs")
        for example in clashes {
            let persona = stage(example.pair.hypothesis)!
            let said = PersonaNLIGenerator.declarativeClauses(example.pair.premise).compactMap { stage($0) }.first!
            XCTAssertEqual(example.pair.label, .contradiction)
            XCTAssertTrue(persona.conflicts(with: said), "\(example.pair)")
        }
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

    func testTopicContrastsPairContradictionsAndEntailmentsWithUnrelatedSentencesAsNeutral() {
        func row(_ persona: String, _ utterance: String, _ label: NLILabel, _ how: String) -> (pair: NLIPair, speaker: String, how: String) {
            (NLIPair(id: 0, premise: utterance, hypothesis: persona, label: label), "other", how)
        }
        let rows = [row("i have a dog.", "i do not have any pets , i hate dogs", .contradiction, "pet"),
                    row("i love country music.", "i can't stand country music", .contradiction, "music"),
                    row("i am 100 years old.", "i'm 24", .contradiction, "age"),
                    row("i work at a bank.", "i am a teller at a bank", .entailment, "job"),
                    row("my favorite food is pizza.", "pizza is ok i guess", .neutral, "food"),
                    row("i have two dogs and a cat.", "dogs are great", .neutral, "pet")]
        let contrasts = HandLabelledPersonaNLI.topicContrasts(rows, seed: 1)
        XCTAssertEqual(contrasts.count, 3, "one per contradiction or entailment of a narrow relation; the age clash and the neutrals are skipped")
        let relation = Dictionary(rows.map { ($0.pair.hypothesis, $0.how) }, uniquingKeysWith: { a, _ in a })
        for (pair, source) in zip(contrasts, [rows[0], rows[1], rows[3]]) {
            XCTAssertEqual(pair.label, .neutral)
            XCTAssertEqual(pair.premise, source.pair.premise, "the same utterance")
            XCTAssertNotEqual(relation[pair.hypothesis], source.how, "another relation")
            XCTAssertNotEqual(relation[pair.hypothesis], "age", "never a wide relation")
            let content = PersonaNLIGenerator.contentWords
            XCTAssertTrue(content(pair.hypothesis).isDisjoint(with: content(source.pair.premise).union(content(source.pair.hypothesis))),
                          "no shared content word: \(pair.hypothesis)")
        }
        XCTAssertEqual(contrasts.map(\.hypothesis), HandLabelledPersonaNLI.topicContrasts(rows, seed: 1).map(\.hypothesis), "seeded")
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
        // The hand-labelled training pairs: meta-train clusters only, and no utterance of the two measuring sets.
        let train = url.deletingLastPathComponent().appendingPathComponent("persona-nli-real-train.tsv")
        let trainIDs = Set(dataset.tasks(in: .train).map(\.id))
        XCTAssertTrue(try clusters(train).isSubset(of: trainIDs), "real training clusters outside meta-train")
        let measured = Set(try (HandLabelledPersonaNLI.read(url) + HandLabelledPersonaNLI.read(valid)).map(\.pair.premise))
        let trainUtterances = try HandLabelledPersonaNLI.read(train).map(\.pair.premise)
        XCTAssertGreaterThan(trainUtterances.count, 1000)
        XCTAssertTrue(measured.isDisjoint(with: trainUtterances), "a measured utterance is in the training pairs")
    }

    func testJobsAreReadFromFullAndFragmentAnswers() {
        func job(_ clause: String) -> [String]? { PersonaNLIGenerator.statedJob(PersonaNLIGenerator.words(clause)) }
        XCTAssertEqual(job("i am a nurse at a home"), ["a", "nurse"])
        XCTAssertEqual(job("well i work as a bank teller"), ["a", "bank", "teller"])
        XCTAssertEqual(job("my job is being a cook"), ["a", "cook"])
        XCTAssertEqual(job("a doctor by trade"), ["a", "doctor"])
        XCTAssertEqual(job("construction worker"), ["a", "construction", "worker"])
        XCTAssertEqual(job("mechanical engineer for chevy and nissan"), ["a", "mechanical", "engineer"])
        XCTAssertNil(job("i am a hard worker"), "a kind of person, not of work")
        XCTAssertNil(job("my teacher is mean"))
        XCTAssertNil(job("i am a big fan of the doctor who show"))
        XCTAssertNil(job("i went to the doctor yesterday and it was fine"), "a long clause is no fragment answer")
        XCTAssertTrue(fact("i am a professional wrestler .").isJob)
        XCTAssertTrue(fact("i am a construction worker .").isJob)
        XCTAssertFalse(fact("i am a hard worker .").isJob)
    }

    func testDenialsOfAnyThingAreRead() {
        func denied(_ clause: String) -> [String]? { PersonaNLIGenerator.deniedThing(PersonaNLIGenerator.words(clause)) }
        XCTAssertEqual(denied("i've no smartphone"), ["smartphone"])
        XCTAssertEqual(denied("i do not have a smartphone"), ["smartphone"])
        XCTAssertEqual(denied("i don't own a car"), ["car"])
        XCTAssertEqual(denied("i have never had a pet"), ["pet"])
        XCTAssertNil(denied("i have a smartphone"))
        XCTAssertNil(denied("i do not have it"), "nothing named")
    }

    func testAgreeingDenialsAndPartnersJobsBecomePairs() {
        let source = PersonaNLISource(cluster: "train/1", variants: [["i do not have a smartphone .", "i am a nurse ."]],
                                      ownUtterances: ["hey . jefferson here , i've no smartphone ."],
                                      partnerUtterances: ["construction worker , it is good honest work ."])
        let other = PersonaNLISource(cluster: "train/2", variants: [["i am a teacher .", "i like to ski ."]])
        var rng = SeededGenerator(seed: 11)
        let candidates = PersonaNLIGenerator(sources: [source, other], excluded: []).candidates(&rng).byLabel.values.flatMap { $0 }
        XCTAssertTrue(candidates.contains {
            $0.kind == "denial-agrees" && $0.pair.label == .entailment && $0.pair.premise.contains("no smartphone")
                && $0.pair.hypothesis.hasPrefix("i do not have a smartphone")
        })
        XCTAssertTrue(candidates.contains {
            $0.kind == "clash-utterance" && $0.pair.label == .contradiction && $0.pair.premise.hasPrefix("construction worker")
                && $0.pair.hypothesis.hasPrefix("i am a nurse")
        })
        XCTAssertFalse(candidates.contains { $0.pair.label == .contradiction && $0.pair.premise.contains("no smartphone") },
                       "an agreeing denial is never a contradiction")
    }

    func testDietsAreReadFromFirstPersonClauses() {
        func diet(_ clause: String) -> Diet? { Diet.of(PersonaNLIGenerator.words(clause)) }
        XCTAssertEqual(diet("i am a vegan"), .meatless)
        XCTAssertEqual(diet("i'm vegetarian"), .meatless)
        XCTAssertEqual(diet("i don't eat meat at all"), .meatless)
        XCTAssertEqual(diet("i stopped eating meat last year"), .meatless)
        XCTAssertEqual(diet("i am not a vegetarian"), .meatEating)
        XCTAssertEqual(diet("i am an omnivore"), .meatEating)
        XCTAssertEqual(diet("i only eat meat"), .meatEating)
        XCTAssertEqual(diet("i love a good steak"), .meatEating)
        XCTAssertNil(diet("i don't like steak"), "a taste, not a diet")
        XCTAssertNil(diet("i was a vegetarian"), "the past states no present diet")
        XCTAssertNil(diet("i wish i was vegan"))
        XCTAssertNil(diet("my sister is a vegan"))
    }

    func testOtherDietsContradictAndTheSameDietEntails() {
        let source = PersonaNLISource(cluster: "train/1", variants: [["i am a vegetarian .", "i like to ski ."]],
                                      ownUtterances: ["no , i only eat meat , i am a protein monster ."],
                                      partnerUtterances: ["i don't eat meat at all , just veggies ."])
        var rng = SeededGenerator(seed: 11)
        let candidates = PersonaNLIGenerator(sources: [source], excluded: []).candidates(&rng).byLabel.values.flatMap { $0 }
        func has(_ kind: String, _ label: NLILabel, _ premise: String) -> Bool {
            candidates.contains { $0.kind == kind && $0.pair.label == label && $0.pair.premise.hasPrefix(premise) }
        }
        XCTAssertTrue(has("clash-diet", .contradiction, "no , i only eat meat"))
        XCTAssertTrue(has("stated-diet", .entailment, "i don't eat meat at all"))
        XCTAssertTrue(candidates.contains { $0.kind == "swapped-diet" && $0.pair.label == .contradiction })
    }
}
