import Autograd
import Dialogue
import Foundation
import MetaLearning
import NLI
import Text

/// Generates one response for a history, as text. With a re-ranker, the beam's n-best hypotheses are re-ranked by
/// persona consistency C (ties by beam score; Welleck et al. 2019); `log` then gets one line per hypothesis.
public func respond(_ loaded: DialogueCheckpoint, _ parameters: Parameters, history: [String], persona: [String],
                    strategy: DecodingStrategy, seed: UInt64, reranker: ConsistencyReranker? = nil,
                    log: ((String) -> Void)? = nil) -> String {
    let encoder = ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format)
    let source = encoder.source(history: history, persona: persona)
    let hypotheses = loaded.model.generate(parameters: parameters, source: source, strategy: strategy,
                                           options: DecodingOptions(seed: seed))       // best first
    let texts = hypotheses.map { Tokenizer().detokenize(loaded.vocabulary.decode($0.tokens)) }
    guard let reranker else { return texts[0] }
    let (best, scored) = reranker.rerank(zip(texts, hypotheses).map { ($0, $1.score) }, persona: persona)
    for (i, text) in texts.enumerated() {
        let labels = scored[i].labels.map { String($0.description.prefix(1).uppercased()) }.joined()
        log?("\(i == best ? "*" : " ") beam \(i + 1) | score " + String(format: "%.3f", hypotheses[i].score)
             + " | C " + String(format: "%+d", scored[i].score) + " \(labels) | \(text)")
    }
    return texts[best]
}

/// The weights of `loaded` adapted to a persona's few dialogues by `settings` (k-shot SGD, the PAML way).
public func adapt(_ loaded: DialogueCheckpoint, to file: PersonaDialogueFile, settings: AdaptationSettings,
                  log: (String) -> Void) throws -> Parameters {
    let encoder = ExampleEncoder(vocabulary: loaded.vocabulary, format: loaded.config.format)
    let start = Date()
    let kshot = KShotProtocol(steps: settings.steps, learningRate: settings.learningRate, batchSize: settings.batchSize,
                              gradientClip: settings.gradientClip)
    let adapted = try kshot.adapt(model: loaded.model, parameters: loaded.parameters, support: file.examples.map(encoder.encode))
    log("adapted to \(file.dialogues) dialogues (\(file.examples.count) turns) in " + String(format: "%.1f", Date().timeIntervalSince(start)) + " s")
    return adapted
}
