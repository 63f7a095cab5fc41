import ArgumentParser
import Foundation
import SpokenRecommender

/// `paml recommend read-replies`: accuracy of the reply reader on a labelled set.
struct RecommendReadReplies: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read-replies",
        abstract: "Measure the reply reader (rules, NLI, rules then NLI) on labelled accept/reject replies."
    )

    @OptionGroup var data: DataOptions
    @OptionGroup var speech: SpeechOptions
    @Option(help: "Labelled replies (action TAB name TAB reply TAB label TAB origin).") var labelled = "Corpora/crs-replies.tsv"
    @Flag(help: "Also read corpus-labelled replies: answers to 'do you like X ?' (ConvAI2 valid, Synthetic-Persona-Chat) minus their yes/no opener.")
    var mined = false
    @Flag(help: "Print every misread reply.") var verbose = false

    func run() throws {
        var examples = try LabelledReply.read(URL(fileURLWithPath: labelled))
        if mined { examples += try LabelledReply.mined(root: data.corpusRoot) }
        let origins = Array(Set(examples.map(\.origin))).sorted()
        print("\(examples.count) labelled replies (" + origins.map { o in "\(o) \(examples.filter { $0.origin == o }.count)" }
            .joined(separator: ", ") + ")")
        for result in ReplyReaderEvaluation.measure(try speech.reader(), on: examples) {
            print("\(result.reader):" + result.byOrigin.map {
                String(format: "  %@ %.3f (%d/%d, %d unclear)", $0.origin, $0.accuracy, $0.correct, $0.total, $0.unclear)
            }.joined() + String(format: "  [%.1f s]", result.seconds))
            if verbose {
                for (reply, predicted) in result.misread {
                    print("    misread (\(predicted.rawValue), gold \(reply.label.rawValue)): \(reply.reply)")
                }
            }
        }
    }
}
