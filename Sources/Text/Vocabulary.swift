import Foundation

/// Token <-> id map with PAML's special ids: UNK 0, PAD 1, EOS 2, SOS 3.
///
/// Built from token counts: tokens with count >= `minCount`, most frequent first (ties by token, so the
/// order never depends on hashing), cut to `maxSize` entries including the four specials.
/// Saved as UTF-8 text, one token per line, line i = id i - 1.
public struct Vocabulary: Equatable, Sendable {
    public static let unk = "UNK", pad = "PAD", eos = "EOS", sos = "SOS"
    public static let specials = [unk, pad, eos, sos]
    public static let unkID = 0, padID = 1, eosID = 2, sosID = 3

    /// id -> token.
    public let tokens: [String]
    private let ids: [String: Int]

    public var count: Int { tokens.count }

    /// A vocabulary with the specials followed by `words` in the given order (duplicates and specials are errors).
    public init(words: [String]) throws {
        var ids: [String: Int] = [:]
        let all = Vocabulary.specials + words
        for (id, token) in all.enumerated() {
            if ids[token] != nil { throw TextError(file: "<vocabulary>", "token '\(token)' appears twice") }
            ids[token] = id
        }
        self.tokens = all
        self.ids = ids
    }

    /// Tokens with `count >= minCount`, sorted by count descending then token, at most `maxSize` entries
    /// including the specials. Specials in `counts` are ignored (they always come first).
    public init(counts: [String: Int], minCount: Int = 1, maxSize: Int? = nil) {
        let specials = Set(Vocabulary.specials)
        var kept = counts.filter { $0.value >= minCount && !specials.contains($0.key) && !$0.key.isEmpty }
            .sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map(\.key)
        if let maxSize { kept = Array(kept.prefix(max(0, maxSize - Vocabulary.specials.count))) }
        // Keys are unique, specials removed: cannot throw.
        self = try! Vocabulary(words: kept)
    }

    /// Token counts over tokenised sentences.
    public static func count<S: Sequence>(_ sentences: S) -> [String: Int] where S.Element == [String] {
        var counts: [String: Int] = [:]
        for sentence in sentences { for token in sentence { counts[token, default: 0] += 1 } }
        return counts
    }

    /// The id of `token`, UNK when unknown.
    public func id(_ token: String) -> Int { ids[token] ?? Vocabulary.unkID }
    public func contains(_ token: String) -> Bool { ids[token] != nil }

    /// Ids of `tokens`, optionally framed by SOS ... EOS.
    public func encode(_ tokens: [String], addSOS: Bool = false, addEOS: Bool = false) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(tokens.count + 2)
        if addSOS { out.append(Vocabulary.sosID) }
        for token in tokens { out.append(id(token)) }
        if addEOS { out.append(Vocabulary.eosID) }
        return out
    }

    /// Tokens of `ids`: stops at the first EOS, drops PAD and SOS; out-of-range ids are UNK.
    public func decode(_ ids: [Int]) -> [String] {
        var out: [String] = []
        for id in ids {
            if id == Vocabulary.eosID { break }
            if id == Vocabulary.padID || id == Vocabulary.sosID { continue }
            out.append(id >= 0 && id < tokens.count ? tokens[id] : Vocabulary.unk)
        }
        return out
    }

    /// Writes one token per line (atomically).
    public func save(to url: URL) throws {
        let text = tokens.joined(separator: "\n") + "\n"
        try Data(text.utf8).write(to: url, options: .atomic)
    }

    /// Reads a file written by `save`. Errors (with file and line): the first four lines are not
    /// UNK PAD EOS SOS, an empty line, a token with white space, a duplicate token, invalid UTF-8.
    public static func load(from url: URL) throws -> Vocabulary {
        let name = url.path
        let data = try TextFile.data(url)
        guard let text = String(data: data, encoding: .utf8) else { throw TextError(file: name, "not valid UTF-8") }
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        var seen: [String: Int] = [:]
        for (index, token) in lines.enumerated() {
            let line = index + 1
            if token.isEmpty { throw TextError(file: name, line: line, "empty token") }
            if token.contains(where: { $0.isWhitespace }) { throw TextError(file: name, line: line, "token '\(token)' contains white space") }
            if index < specials.count && token != specials[index] {
                throw TextError(file: name, line: line, "expected special token \(specials[index]), found '\(token)'")
            }
            if let first = seen[token] { throw TextError(file: name, line: line, "duplicate token '\(token)' (first on line \(first))") }
            seen[token] = line
        }
        if lines.count < specials.count { throw TextError(file: name, line: lines.count + 1, "missing special token \(specials[lines.count])") }
        return try Vocabulary(words: Array(lines.dropFirst(specials.count)))
    }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool { a.tokens == b.tokens }
}
