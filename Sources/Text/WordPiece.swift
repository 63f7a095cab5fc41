import Foundation

/// BERT's WordPiece tokenizer (Devlin et al. 2019; Wu et al. 2016), matching Hugging Face's `BertTokenizer`
/// with `do_lower_case` (the all-MiniLM-L6-v2 set-up) id for id.
///
/// Two stages, both on Unicode scalars (never on Swift `Character`s, whose canonical equivalence would
/// merge vocabulary entries Python keeps apart):
/// 1. Basic tokenizer: drop NUL, U+FFFD and control characters (category C*, except tab/newline/return);
///    whitespace (space, \t, \n, \r, Zs; U+2028/U+2029 as Python's `str.split`) separates words; every CJK
///    ideograph is a word of its own; each word is lower-cased (full mapping, one scalar at a time, as
///    Hugging Face does), decomposed (NFD) and stripped of nonspacing marks (Mn); punctuation (ASCII 33-47, 58-64,
///    91-96, 123-126 and Unicode P*) splits words and stands alone.
/// 2. WordPiece: greedy longest-match-first over the vocabulary, continuation pieces prefixed "##"; a word
///    with no complete cover, or longer than `maxCharactersPerWord` scalars, becomes [UNK].
public struct WordPieceTokenizer: Sendable {
    public let vocabulary: WordPieceVocabulary
    /// Words longer than this many Unicode scalars map to [UNK] (Hugging Face's `max_input_chars_per_word`).
    public static let maxCharactersPerWord = 100

    public init(vocabulary: WordPieceVocabulary) {
        self.vocabulary = vocabulary
    }

    /// Loads `vocab.txt` (one token per line, line i = id i - 1).
    public init(vocabularyFile: URL) throws {
        self.init(vocabulary: try WordPieceVocabulary(contentsOf: vocabularyFile))
    }

    // MARK: Basic tokenizer

    /// Words after cleaning, CJK splitting, lower-casing, accent stripping and punctuation splitting.
    public func basicTokens(_ text: String) -> [String] {
        basicScalarTokens(text).map { word in
            var s = String.UnicodeScalarView()
            s.append(contentsOf: word)
            return String(s)
        }
    }

    func basicScalarTokens(_ text: String) -> [[Unicode.Scalar]] {
        // Clean, split on whitespace, isolate CJK ideographs.
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in text.unicodeScalars {
            let v = scalar.value
            if v == 0 || v == 0xFFFD || Self.isControl(scalar) { continue }
            if Self.isWhitespace(scalar) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
            } else if Self.isCJK(v) {
                if !current.isEmpty { words.append(current); current.removeAll(keepingCapacity: true) }
                words.append([scalar])
            } else {
                current.append(scalar)
            }
        }
        if !current.isEmpty { words.append(current) }

        // Lower-case, strip accents, split on punctuation.
        var tokens: [[Unicode.Scalar]] = []
        tokens.reserveCapacity(words.count + words.count / 4)
        for word in words {
            var piece: [Unicode.Scalar] = []
            for scalar in Self.lowercasedStrippingAccents(word) {
                if Self.isPunctuation(scalar) {
                    if !piece.isEmpty { tokens.append(piece); piece.removeAll(keepingCapacity: true) }
                    tokens.append([scalar])
                } else {
                    piece.append(scalar)
                }
            }
            if !piece.isEmpty { tokens.append(piece) }
        }
        return tokens
    }

    /// Per-scalar full lower-case mapping (no Final_Sigma context: Hugging Face lower-cases one character at
    /// a time, so "ΟΔΟΣ" -> "οδοσ"), then NFD without Mn marks.
    static func lowercasedStrippingAccents(_ word: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if word.allSatisfy({ $0.isASCII }) {
            return word.map { $0.value >= 65 && $0.value <= 90 ? Unicode.Scalar($0.value + 32)! : $0 }
        }
        var lowered = String.UnicodeScalarView()
        for scalar in word { lowered.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars) }
        let decomposed = String(lowered).decomposedStringWithCanonicalMapping
        return decomposed.unicodeScalars.filter { $0.properties.generalCategory != .nonspacingMark }
    }

    /// Space, tab, newline, return, Zs; plus U+2028/U+2029 on which Python's `str.split()` also breaks.
    static func isWhitespace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09, 0x0A, 0x0D, 0x2028, 0x2029: return true
        case 0..<0x80: return false
        default: return s.properties.generalCategory == .spaceSeparator
        }
    }

    /// Category C* (control, format, surrogate, private use, unassigned), except tab, newline and return.
    static func isControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x09, 0x0A, 0x0D: return false
        case 0x20..<0x7F: return false
        default:
            switch s.properties.generalCategory {
            case .control, .format, .surrogate, .privateUse, .unassigned: return true
            default: return false
            }
        }
    }

    /// BERT's `_is_punctuation`: every non-alphanumeric printable ASCII character, and Unicode P*.
    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v) { return true }
        if v < 0x80 { return false }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }

    /// The CJK Unified Ideographs blocks BERT isolates (not Hiragana, Katakana or Hangul).
    static func isCJK(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B820...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }

    // MARK: WordPiece

    /// WordPiece pieces of `text` (no special tokens).
    public func tokenize(_ text: String) -> [String] {
        ids(text).map { vocabulary.tokens[$0] }
    }

    /// Vocabulary ids of `text` (no special tokens).
    public func ids(_ text: String) -> [Int] {
        var out: [Int] = []
        for word in basicScalarTokens(text) { appendPieces(of: word, to: &out) }
        return out
    }

    /// Greedy longest-match-first: the longest vocabulary entry starting at `start` ("##" after the first
    /// piece), then continue after it; [UNK] for the whole word if some position has no match.
    func appendPieces(of word: [Unicode.Scalar], to out: inout [Int]) {
        if word.count > Self.maxCharactersPerWord { out.append(vocabulary.unkID); return }
        // UTF-8 offsets of each scalar, so candidate substrings are byte slices.
        var bytes: [UInt8] = []
        var offsets: [Int] = [0]
        for scalar in word {
            bytes.append(contentsOf: UTF8.encode(scalar)!)
            offsets.append(bytes.count)
        }
        let firstPiece = out.count
        var start = 0
        var key: [UInt8] = []
        while start < word.count {
            var end = word.count
            var match: Int?
            while start < end {
                key.removeAll(keepingCapacity: true)
                if start > 0 { key.append(0x23); key.append(0x23) }  // "##"
                key.append(contentsOf: bytes[offsets[start]..<offsets[end]])
                if let id = vocabulary.id(utf8: key) { match = id; break }
                end -= 1
            }
            guard let match else {
                out.removeSubrange(firstPiece...)
                out.append(vocabulary.unkID)
                return
            }
            out.append(match)
            start = end
        }
    }

    // MARK: Model inputs

    /// `[CLS] premise [SEP]` or `[CLS] premise [SEP] hypothesis [SEP]`, cut to at most `maxLength` ids.
    ///
    /// Truncation is Hugging Face's "longest_first": the longer side loses the length difference first,
    /// then both lose half of the rest each (the hypothesis the odd one), always from the right.
    /// Segment ids are 0 up to and including the first [SEP], 1 after it; the mask is all ones (see `BertBatch`).
    public func encode(premise: String, hypothesis: String? = nil, maxLength: Int = 512) -> BertEncoding {
        var a = ids(premise)
        guard let hypothesis else {
            precondition(maxLength >= 2, "maxLength \(maxLength) leaves no room for [CLS] and [SEP]")
            if a.count + 2 > maxLength { a.removeLast(a.count + 2 - maxLength) }
            let inputIDs = [vocabulary.clsID] + a + [vocabulary.sepID]
            return BertEncoding(inputIDs: inputIDs, tokenTypeIDs: Array(repeating: 0, count: inputIDs.count))
        }
        precondition(maxLength >= 3, "maxLength \(maxLength) leaves no room for [CLS] and two [SEP]")
        var b = ids(hypothesis)
        let excess = a.count + b.count + 3 - maxLength
        if excess > 0 {
            let first = min(abs(a.count - b.count), excess)
            let second = excess - first
            let (cutA, cutB) = a.count > b.count
                ? (first + second / 2, second - second / 2)
                : (second / 2, first + second - second / 2)
            a.removeLast(min(cutA, a.count))
            b.removeLast(min(cutB, b.count))
        }
        let inputIDs = [vocabulary.clsID] + a + [vocabulary.sepID] + b + [vocabulary.sepID]
        let tokenTypeIDs = Array(repeating: 0, count: a.count + 2) + Array(repeating: 1, count: b.count + 1)
        return BertEncoding(inputIDs: inputIDs, tokenTypeIDs: tokenTypeIDs)
    }
}

/// One encoded sequence: ids, segment ids (0 premise, 1 hypothesis) and attention mask (1 real, 0 padding).
public struct BertEncoding: Equatable, Sendable {
    public var inputIDs: [Int]
    public var tokenTypeIDs: [Int]
    public var attentionMask: [Int]

    public init(inputIDs: [Int], tokenTypeIDs: [Int], attentionMask: [Int]? = nil) {
        precondition(inputIDs.count == tokenTypeIDs.count, "ids and segment ids differ in length")
        self.inputIDs = inputIDs
        self.tokenTypeIDs = tokenTypeIDs
        self.attentionMask = attentionMask ?? Array(repeating: 1, count: inputIDs.count)
    }

    public var count: Int { inputIDs.count }
}

/// Encodings padded on the right to the longest one, flattened row-major [B, T].
public struct BertBatch: Equatable, Sendable {
    public let batchSize: Int
    public let length: Int
    /// [B*T] each.
    public let inputIDs: [Int]
    public let tokenTypeIDs: [Int]
    public let attentionMask: [Int]

    public init(_ encodings: [BertEncoding], padID: Int = 0) {
        let t = encodings.map(\.count).max() ?? 0
        var ids: [Int] = [], types: [Int] = [], mask: [Int] = []
        ids.reserveCapacity(encodings.count * t)
        for e in encodings {
            let pad = t - e.count
            ids += e.inputIDs + Array(repeating: padID, count: pad)
            types += e.tokenTypeIDs + Array(repeating: 0, count: pad)
            mask += e.attentionMask + Array(repeating: 0, count: pad)
        }
        batchSize = encodings.count
        length = t
        inputIDs = ids
        tokenTypeIDs = types
        attentionMask = mask
    }
}

/// BERT's `vocab.txt`: UTF-8, one token per line, line i holds id i - 1. Lookups compare UTF-8 bytes
/// (Python string equality), not Swift's canonical equivalence.
public struct WordPieceVocabulary: Sendable {
    /// id -> token.
    public let tokens: [String]
    private let ids: [[UInt8]: Int]
    public let padID: Int, unkID: Int, clsID: Int, sepID: Int, maskID: Int

    public var count: Int { tokens.count }

    /// Strict: an empty file, an empty line, a carriage return inside a line, a duplicate token or a
    /// missing [PAD]/[UNK]/[CLS]/[SEP]/[MASK] is an error naming the file and line.
    public init(contentsOf url: URL) throws {
        let name = url.path
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TextError(file: name, "cannot read WordPiece vocabulary: \(error.localizedDescription)")
        }
        var lines = [UInt8](data).split(separator: 0x0A, omittingEmptySubsequences: false).map { Array($0) }
        if lines.last?.isEmpty == true { lines.removeLast() }  // final newline
        guard !lines.isEmpty else { throw TextError(file: name, "empty WordPiece vocabulary") }
        try self.init(lines: lines, file: name)
    }

    /// From tokens in id order (tests, small fixtures).
    public init(tokens: [String]) throws {
        try self.init(lines: tokens.map { Array($0.utf8) }, file: "<vocabulary>")
    }

    private init(lines: [[UInt8]], file: String) throws {
        var tokens: [String] = []
        var ids: [[UInt8]: Int] = [:]
        tokens.reserveCapacity(lines.count)
        for (index, raw) in lines.enumerated() {
            var line = raw
            if line.last == 0x0D { line.removeLast() }  // CRLF, as Python's universal newlines
            if line.isEmpty { throw TextError(file: file, line: index + 1, "empty token") }
            if line.contains(0x0D) { throw TextError(file: file, line: index + 1, "carriage return inside a token") }
            guard let token = String(validating: line, as: UTF8.self) else {
                throw TextError(file: file, line: index + 1, "token is not valid UTF-8")
            }
            if let first = ids[line] {
                throw TextError(file: file, line: index + 1, "token '\(token)' already on line \(first + 1)")
            }
            ids[line] = index
            tokens.append(token)
        }
        func special(_ token: String) throws -> Int {
            guard let id = ids[Array(token.utf8)] else {
                throw TextError(file: file, "special token \(token) missing from the vocabulary")
            }
            return id
        }
        self.tokens = tokens
        self.ids = ids
        padID = try special("[PAD]")
        unkID = try special("[UNK]")
        clsID = try special("[CLS]")
        sepID = try special("[SEP]")
        maskID = try special("[MASK]")
    }

    /// The id of the token with exactly these UTF-8 bytes.
    public func id(utf8 bytes: [UInt8]) -> Int? { ids[bytes] }

    /// The id of `token` (exact scalars), nil when absent.
    public func id(_ token: String) -> Int? { ids[Array(token.utf8)] }
}
