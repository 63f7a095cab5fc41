import ArgumentParser
import NLI
import Foundation
import NN

/// `paml score`: persona consistency C of every scored utterance in a transcript, and the mean C.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Persona consistency C (NLI: premise = utterance, hypothesis = persona sentence; +1/0/-1 summed).",
        discussion: """
        --transcript is JSONL, one turn per line: {"speaker": "...", "text": "...", "persona": ["...", ...]},
        or ConvAI2 text, whose persona speaker's responses are scored against the "your persona" lines.
        """
    )

    @OptionGroup var model: NLIModelOptions

    @Option(name: .long, help: "Transcript file (JSONL or ConvAI2 text).")
    var transcript: String

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let turns = try Transcript.read(URL(fileURLWithPath: transcript))
        let nli = try model.load()
        let scorer = ConsistencyScorer(predictor: nli)
        var reporter = ProgressReporter(label: "score", total: turns.count, unit: "utterances")
        reporter.toStandardError = true
        var reported = 0
        // Progress goes to standard error so that the table and the JSON on standard output stay clean.
        let scored = scorer.score(turns.map { ($0.text, $0.persona) }, chunk: 500) { done, _ in
            reporter.update(step: done, loss: 0, work: Double(done - reported))
            reported = done
        }
        let mean = ConsistencyScorer.meanScore(scored)
        let (speakers, bySpeaker) = ConsistencyScorer.bySpeaker(turns, scored)
        if json {
            let rows: [[String: Any]] = zip(turns, scored).map { turn, s in
                ["line": turn.line, "speaker": turn.speaker, "text": turn.text, "C": s.score,
                 "labels": zip(s.persona, s.labels).map { ["persona": $0, "label": $1.description] }]
            }
            var object: [String: Any] = ["file": transcript, "utterances": rows, "meanC": mean,
                                         "meanCBySpeaker": bySpeaker.mapValues { ConsistencyScorer.meanScore($0) }]
            if let signature = nli.signature {
                object["scorer"] = ["signature": signature.line, "checkpoint": signature.checkpoint, "weights": signature.weights,
                                    "data": signature.data, "accuracies": signature.accuracies]
            }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("line | speaker | C | labels (E entail, N neutral, C contradict, one per persona sentence) | text")
        for (turn, s) in zip(turns, scored) {
            let labels = s.labels.map { String($0.description.prefix(1).uppercased()) }.joined()
            print("\(turn.line) | \(turn.speaker) | \(s.score) | \(labels.isEmpty ? "-" : labels) | \(turn.text)")
        }
        if speakers.count > 1 {
            for speaker in speakers {
                print(String(format: "mean C of %@ over %d utterances: %.3f", speaker, bySpeaker[speaker]!.count,
                             ConsistencyScorer.meanScore(bySpeaker[speaker]!)))
            }
        }
        print(String(format: "mean C over %d utterances: %.3f", scored.count, mean))
        print("scorer: " + (nli.signature?.line ?? "unsigned"))
    }
}
