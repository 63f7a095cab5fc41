import ArgumentParser
import Metrics
import Foundation

/// `paml bleu`: corpus BLEU of a hypothesis file against one or more reference files, printed as
/// sacreBLEU's text line (`sacrebleu REF... -i HYP -f text`), e.g.
/// `BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 35.1 66.7/40.0/25.0/14.3 (BP = ...)`.
struct BleuCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bleu",
        abstract: "Corpus BLEU, identical to sacreBLEU 2.6.0 (one sentence per line, files aligned by line)."
    )

    @Option(name: .long, help: "System output, one sentence per line.")
    var hypotheses: String

    @Option(name: .long, parsing: .upToNextOption, help: "Reference files (one or more), aligned with --hypotheses.")
    var references: [String]

    @Option(name: .long, help: "Tokenizer: \(BLEUTokenizer.allCases.map(\.rawValue).joined(separator: ", ")).")
    var tokenize: String = BLEUTokenizer.v13a.rawValue

    @Flag(name: .long, help: "Lowercase hypotheses and references (case:lc).")
    var lowercase = false

    @Option(name: .long, help: "Smoothing: exp, floor, add-k or none.")
    var smoothMethod: String = "exp"

    @Option(name: .long, help: "Smoothing value for floor (default 0.1) and add-k (default 1).")
    var smoothValue: Double?

    @Option(name: .long, help: "Decimals of the printed score.")
    var width: Int = 1

    func validate() throws {
        guard !references.isEmpty else { throw ValidationError("--references needs at least one file") }
        guard BLEUTokenizer(rawValue: tokenize) != nil else {
            throw ValidationError("--tokenize \(tokenize): expected one of \(BLEUTokenizer.allCases.map(\.rawValue))")
        }
        guard BLEU.Smoothing(method: smoothMethod, value: smoothValue) != nil else {
            throw ValidationError("--smooth-method \(smoothMethod): expected exp, floor, add-k or none")
        }
        guard (0...16).contains(width) else { throw ValidationError("--width \(width): expected 0...16") }
        if let smoothValue, !(smoothValue.isFinite && smoothValue >= 0 && smoothValue <= 1e6) {
            throw ValidationError("--smooth-value \(smoothValue): must be finite and in [0, 1e6]")
        }
    }

    func run() throws {
        let metric = BLEU(tokenizer: BLEUTokenizer(rawValue: tokenize)!, lowercase: lowercase,
                          smoothing: BLEU.Smoothing(method: smoothMethod, value: smoothValue)!)
        let system = try Self.readLines(hypotheses)
        let streams = try references.map(Self.readLines)
        for (file, stream) in zip(references, streams) where stream.count != system.count {
            throw ValidationError("\(file): \(stream.count) lines, but \(hypotheses) has \(system.count)")
        }
        var accumulator = BLEUAccumulator(metric)
        for (i, hypothesis) in system.enumerated() {
            accumulator.accumulate(hypothesis: hypothesis, references: streams.map { $0[i] })
        }
        print(accumulator.measure().formatted(signature: accumulator.signature, width: width))
    }

    /// Lines as sacreBLEU reads them: UTF-8, split on "\n" only, no empty line after a final "\n".
    static func readLines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(path): cannot read file")
        }
        var pieces = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if pieces.last?.isEmpty == true { pieces.removeLast() }
        return try pieces.enumerated().map { index, bytes in
            guard let line = String(validating: bytes, as: UTF8.self) else {
                throw ValidationError("\(path):\(index + 1): not valid UTF-8")
            }
            return line
        }
    }
}
