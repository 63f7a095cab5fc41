import ArgumentParser
import Foundation
import Text

/// `paml data glove-coverage`: how much of the persona corpora's vocabulary has a GloVe vector.
struct GloveCoverageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glove-coverage",
        abstract: "GloVe 6B coverage (types and tokens) of the tokenised persona dialogues, for a vocabulary cut-off."
    )

    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Least corpus count for a token to enter the vocabulary.") var minCount = 1
    @Option(name: .long, help: "Largest vocabulary size, specials included.") var maxSize: Int?
    @Option(name: .long, help: "GloVe dimension (the file glove/glove.6B.<dim>d.npy must exist).") var dimension = 50

    func validate() throws {
        try OptionCheck.atLeast(minCount, 0, "--min-count")
        if let maxSize { try OptionCheck.atLeast(maxSize, 0, "--max-size") }
        guard [50, 100, 200, 300].contains(dimension) else { throw ValidationError("--dimension \(dimension): GloVe 6B has 50, 100, 200 or 300") }
    }

    func run() throws {
        let root = dataOptions.corpusRoot
        let (_, dialogues, _) = try PersonaMetaDataset.load(root: root)
        let tokenizer = Tokenizer()
        var counts: [String: Int] = [:]
        for dialogue in dialogues {
            for text in dialogue.turns.map(\.text) + dialogue.personas.joined() {
                for token in tokenizer.tokenize(text) { counts[token, default: 0] += 1 }
            }
        }
        let vocabulary = Vocabulary(counts: counts, minCount: minCount, maxSize: maxSize)
        let start = Date()
        let glove = try GloVe.load(directory: root.file("glove"), dimension: dimension)
        let loadSeconds = Date().timeIntervalSince(start)
        let (_, inVocabulary) = glove.embeddingMatrix(for: vocabulary, counts: counts)
        let all = glove.coverage(of: counts)
        print("GloVe \(glove.vectors.shape[0])x\(glove.dimension) loaded in \(String(format: "%.2f", loadSeconds)) s")
        print("corpus: \(all.types) types, \(all.tokens) tokens; exact GloVe words cover \(pct(all.typeFraction)) of types, \(pct(all.tokenFraction)) of tokens")
        print("vocabulary (min count \(minCount)\(maxSize.map { ", max \($0)" } ?? "")): \(vocabulary.count) entries; with contraction composition \(inVocabulary.typesCovered) of \(inVocabulary.types) types (\(pct(inVocabulary.typeFraction))), \(pct(inVocabulary.tokenFraction)) of their tokens; \(inVocabulary.typesComposed) types composed from contraction parts")
    }

    func pct(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
}
