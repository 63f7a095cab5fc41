import Text
import XCTest
@testable import NLI

/// The fact-recall probe's questions: mined from what replies state, never giving the answer away.
final class PersonaQuestionsTests: XCTestCase {
    private func side(_ turns: [(partner: String, reply: String)]) -> PersonaDialogueSide {
        PersonaDialogueSide(source: "spc-train", dialogueIndex: 1, speaker: 1, persona: ["i am a nurse ."],
                            examples: turns.map { PersonaExample(persona: ["i am a nurse ."], history: [$0.partner], response: $0.reply) })
    }

    func testTopicsOfPersonaSentences() {
        XCTAssertEqual(PersonaQuestions.topic(of: "i am a nurse .")?.topic, "job")
        XCTAssertEqual(PersonaQuestions.topic(of: "i work as a cashier at walmart .")?.topic, "job")
        XCTAssertEqual(PersonaQuestions.topic(of: "i live in texas .")?.topic, "home")
        XCTAssertEqual(PersonaQuestions.topic(of: "i have two dogs .")?.topic, "pets")
        XCTAssertEqual(PersonaQuestions.topic(of: "i have three kids .")?.value, ["three"], "a count answers a counted fact")
        XCTAssertEqual(PersonaQuestions.topic(of: "my favorite color is blue .")?.topic, "favorite color")
        XCTAssertEqual(PersonaQuestions.topic(of: "i am 25 years old .")?.topic, "age")
        XCTAssertEqual(PersonaQuestions.topic(of: "i am 25")?.topic, "age")
        XCTAssertEqual(PersonaQuestions.topic(of: "i love to cook .")?.topic, "likes")
        XCTAssertNil(PersonaQuestions.topic(of: "i am tired ."))
        XCTAssertNil(PersonaQuestions.topic(of: "the sky is blue ."))
    }

    func testLastQuestionDropsOpenersAndStatements() {
        XCTAssertEqual(PersonaQuestions.lastQuestion("hi ! so , what do you do for work ?"), "what do you do for work ?")
        XCTAssertEqual(PersonaQuestions.lastQuestion("i am fine . where are you from ? i am from ohio ."), "where are you from ?")
        XCTAssertNil(PersonaQuestions.lastQuestion("i like pizza ."))
    }

    func testQuestionsAreMinedFromWhatRepliesState() {
        var turns: [(String, String)] = []
        // 6 times asked, 5 replies state a job: kept for "job".
        for job in ["nurse", "teacher", "doctor", "lawyer", "chef"] { turns.append(("so what do you do for work ?", "i am a \(job) .")) }
        turns.append(("what do you do for work ?", "not much , you ?"))
        // Gives the answer away: the replies repeat the question's value.
        for _ in 0..<6 { turns.append(("do you like dogs ?", "yes i love dogs .")) }
        // Asked often, rarely on topic (1 in 8 < 25%).
        turns.append(("how are you ?", "good , i live in ohio ."))
        for _ in 0..<7 { turns.append(("how are you ?", "good thanks .")) }
        // On topic but asked too rarely (4 < 5).
        for place in ["ohio", "texas", "maine", "utah"] { turns.append(("where do you live ?", "i live in \(place) .")) }
        let task = PersonaTask(id: "train/1", split: .train, dialogues: [side(turns)])
        let mined = PersonaQuestions.mine([task])
        XCTAssertEqual(mined, [PersonaQuestion(topic: "job", question: "what do you do for work ?", asked: 6, answeredOnTopic: 5)])
        let looser = PersonaQuestions.mine([task], minAsked: 4, minShare: 0.1)
        XCTAssertEqual(Set(looser.map(\.question)), ["what do you do for work ?", "how are you ?", "where do you live ?"])
        XCTAssertFalse(looser.contains { $0.question == "do you like dogs ?" }, "a question holding the answer is never kept")
    }

    func testProbesAskOnlyTheTopicsAPersonaStates() {
        let questions = [PersonaQuestion(topic: "job", question: "what do you do ?", asked: 9, answeredOnTopic: 9),
                         PersonaQuestion(topic: "pets", question: "any pets ?", asked: 9, answeredOnTopic: 9),
                         PersonaQuestion(topic: "likes", question: "what do you like to do for fun ?", asked: 9, answeredOnTopic: 9)]
        let probes = PersonaQuestions.probes(persona: ["i am a nurse .", "i love to hike .", "i like jazz .", "i am tall ."],
                                             questions: questions)
        XCTAssertEqual(probes, [PersonaQuestions.Probe(topic: "job", question: "what do you do ?", sentences: ["i am a nurse ."]),
                                PersonaQuestions.Probe(topic: "likes", question: "what do you like to do for fun ?",
                                                       sentences: ["i love to hike .", "i like jazz ."])])
    }
}
