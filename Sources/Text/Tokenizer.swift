import CICU

/// Word tokenizer on ICU's UAX #29 word-break rules, matching Persona-Chat's tokenisation.
///
/// Steps: typographic apostrophes (’ ‘ ʼ) become `'`; the text is NFKC-case-folded (ICU
/// `unorm2_getNFKCCasefoldInstance`, i.e. lower-cased with full Unicode case folding); word-break segments
/// that are not white space become tokens. UAX #29 keeps `letter ' letter` inside one word (rule WB6/WB7),
/// so contractions stay whole exactly as Persona-Chat writes them ("i'm", "don't", "it's") and every
/// punctuation mark is its own token: "Hello, I'm fine!" -> hello , i'm fine !
/// Applied to an already-tokenised Persona-Chat line it returns that line's tokens unchanged.
public struct Tokenizer: Sendable {
    public init() {}

    /// The tokens of `text`, lower-cased.
    public func tokenize(_ text: String) -> [String] {
        let folded = Tokenizer.caseFold(Tokenizer.normaliseApostrophes(text))
        if folded.isEmpty { return [] }
        var tokens: [String] = []
        folded.withUnsafeBufferPointer { buffer in
            var status: Int32 = 0
            guard let iterator = paml_ubrk_open_word(buffer.baseAddress, Int32(buffer.count), &status) else {
                preconditionFailure("ICU ubrk_open failed: \(String(cString: paml_u_error_name(status)))")
            }
            defer { paml_ubrk_close(iterator) }
            var start = Int(paml_ubrk_first(iterator))
            let done = Int32(PAML_UBRK_DONE)
            while true {
                let boundary = paml_ubrk_next(iterator)
                if boundary == done { break }
                let end = Int(boundary)
                let segment = UnsafeBufferPointer(rebasing: buffer[start..<end])
                if !Tokenizer.isWhiteSpace(segment) {
                    tokens.append(String(decoding: segment, as: UTF16.self))
                }
                start = end
            }
        }
        return tokens
    }

    /// Joins tokens into readable text: no space before closing punctuation or apostrophe suffixes
    /// (`, . ! ? ; : % ) ] }` and tokens starting with `'`), none after opening brackets; with
    /// `capitalize`, sentence starts and the pronoun "i" (with its contractions) are upper-cased.
    public func detokenize(_ tokens: [String], capitalize: Bool = false) -> String {
        var output = ""
        var sentenceStart = true
        var previous: String?
        for token in tokens {
            var word = token
            if capitalize {
                if word == "i" || word.hasPrefix("i'") { word = "I" + word.dropFirst() }
                else if sentenceStart, let first = word.first, first.isLetter { word = first.uppercased() + word.dropFirst() }
            }
            let attachLeft = Tokenizer.closing.contains(token) || token.hasPrefix("'") && token.count > 1
            let afterOpening = previous.map { Tokenizer.opening.contains($0) } ?? true
            if !output.isEmpty && !attachLeft && !afterOpening { output += " " }
            output += word
            if Tokenizer.sentenceEnd.contains(token) { sentenceStart = true }
            else if token.first?.isLetter == true || token.first?.isNumber == true { sentenceStart = false }
            previous = token
        }
        return output
    }

    static let closing: Set<String> = [",", ".", "!", "?", ";", ":", "%", ")", "]", "}", "..."]
    static let opening: Set<String> = ["(", "[", "{"]
    static let sentenceEnd: Set<String> = [".", "!", "?"]

    /// ’ ‘ ʼ -> ' (NFKC leaves them alone, Persona-Chat uses only ASCII apostrophes).
    static func normaliseApostrophes(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { $0 == "\u{2019}" || $0 == "\u{2018}" || $0 == "\u{02BC}" }) else { return text }
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            scalars.append(scalar == "\u{2019}" || scalar == "\u{2018}" || scalar == "\u{02BC}" ? "'" : scalar)
        }
        return String(scalars)
    }

    /// NFKC_Casefold as UTF-16 code units.
    static func caseFold(_ text: String) -> [UInt16] {
        let source = Array(text.utf16)
        if source.isEmpty { return [] }
        var capacity = source.count + source.count / 2 + 8
        while true {
            var destination = [UInt16](repeating: 0, count: capacity)
            var status: Int32 = 0
            let length = source.withUnsafeBufferPointer { src in
                destination.withUnsafeMutableBufferPointer { dst in
                    paml_nfkc_casefold(src.baseAddress, Int32(src.count), dst.baseAddress, Int32(dst.count), &status)
                }
            }
            if status == Int32(PAML_U_BUFFER_OVERFLOW_ERROR) { capacity = Int(length) + 1; continue }
            precondition(status <= 0, "ICU NFKC_Casefold failed: \(String(cString: paml_u_error_name(status)))")
            destination.removeSubrange(Int(length)...)
            return destination
        }
    }

    static func isWhiteSpace(_ units: UnsafeBufferPointer<UInt16>) -> Bool {
        for scalar in String(decoding: units, as: UTF16.self).unicodeScalars where paml_u_is_white_space(Int32(bitPattern: scalar.value)) == 0 {
            return false
        }
        return true
    }
}
