/// sacreBLEU's tokenizers, reproduced code point by code point.
///
/// Everything here works on `Unicode.Scalar` arrays, never on `Character`s: Python strings are
/// sequences of code points and compare them exactly, while Swift `String` equality is canonical
/// equivalence over grapheme clusters ("é" == "e\u{301}"). Tokens are therefore scalar arrays too.
public enum BLEUTokenizer: String, Sendable, CaseIterable {
    /// No tokenization: split on whitespace only (sacreBLEU `none`).
    case none
    /// mteval-v13a.pl as in WMT (sacreBLEU `13a`, the default).
    case v13a = "13a"
    /// mteval-v14.pl international: split Unicode punctuation and symbols (sacreBLEU `intl`).
    case intl
    /// Every code point is a token (sacreBLEU `char`).
    case char

    /// The name sacreBLEU puts in the signature (`tok:13a`).
    public var signature: String { rawValue }

    /// Tokenizes one line and splits it on Python whitespace, as `line.split()` does.
    public func tokens(_ line: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        switch self {
        case .none: return PythonText.split(line)
        case .v13a: return PythonText.split(Self.tokenize13a(line))
        case .intl: return PythonText.split(Self.tokenizeIntl(line))
        case .char:
            // " ".join(line): whitespace code points vanish in the split that follows.
            return line.filter { !PythonText.isSpace($0) }.map { [$0] }
        }
    }

    /// sacreBLEU `Tokenizer13a` followed by `TokenizerRegexp` (before the final whitespace split).
    static func tokenize13a(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var line = PythonText.replace(input, "<skipped>", "")
        line = PythonText.replace(line, "-\n", "")
        line = PythonText.replace(line, "\n", " ")
        if line.contains("&") {
            line = PythonText.replace(line, "&quot;", "\"")
            line = PythonText.replace(line, "&amp;", "&")
            line = PythonText.replace(line, "&lt;", "<")
            line = PythonText.replace(line, "&gt;", ">")
        }
        line = [" "] + line + [" "]
        // ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
        var spaced: [Unicode.Scalar] = []
        spaced.reserveCapacity(line.count * 2)
        for c in line {
            if isMtevalPunctuation(c) { spaced += [" ", c, " "] } else { spaced.append(c) }
        }
        let isDigit: (Unicode.Scalar) -> Bool = { $0.value >= 0x30 && $0.value <= 0x39 }
        let isDotComma: (Unicode.Scalar) -> Bool = { $0 == "." || $0 == "," }
        // ([^0-9])([\.,]) -> "\1 \2 "
        line = substitutePairs(spaced, { !isDigit($0) }, isDotComma) { [$0, " ", $1, " "] }
        // ([\.,])([^0-9]) -> " \1 \2"
        line = substitutePairs(line, isDotComma, { !isDigit($0) }) { [" ", $0, " ", $1] }
        // ([0-9])(-) -> "\1 \2 "
        line = substitutePairs(line, isDigit, { $0 == "-" }) { [$0, " ", $1, " "] }
        return line
    }

    /// sacreBLEU `TokenizerV14International` (before the final whitespace split).
    static func tokenizeIntl(_ input: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // (\P{N})(\p{P}) -> "\1 \2 "
        var line = substitutePairs(input, { !isNumber($0) }, isPunctuation) { [$0, " ", $1, " "] }
        // (\p{P})(\P{N}) -> " \1 \2"
        line = substitutePairs(line, isPunctuation, { !isNumber($0) }) { [" ", $0, " ", $1] }
        // (\p{S}) -> " \1 "
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(line.count * 2)
        for c in line {
            if isSymbol(c) { out += [" ", c, " "] } else { out.append(c) }
        }
        return out
    }

    /// `re.sub` of a two-code-point pattern `(a)(b)`: scan left to right, replace each
    /// non-overlapping match and resume after it, exactly as Python's leftmost search does.
    static func substitutePairs(
        _ line: [Unicode.Scalar], _ first: (Unicode.Scalar) -> Bool, _ second: (Unicode.Scalar) -> Bool,
        _ replacement: (Unicode.Scalar, Unicode.Scalar) -> [Unicode.Scalar]
    ) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(line.count + line.count / 2)
        var i = 0
        while i < line.count {
            if i + 1 < line.count && first(line[i]) && second(line[i + 1]) {
                out += replacement(line[i], line[i + 1])
                i += 2
            } else {
                out.append(line[i])
                i += 1
            }
        }
        return out
    }

    /// The 13a class `[\{-\~\[-\` -\&\(-\+\:-\@\/]`.
    static func isMtevalPunctuation(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x7B...0x7E, 0x5B...0x60, 0x20...0x26, 0x28...0x2B, 0x3A...0x40, 0x2F: return true
        default: return false
        }
    }

    /// `\p{N}`: general category Nd, Nl or No.
    static func isNumber(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    /// `\p{P}`: general category Pc, Pd, Ps, Pe, Pi, Pf or Po.
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation: return true
        default: return false
        }
    }

    /// `\p{S}`: general category Sm, Sc, Sk or So.
    static func isSymbol(_ c: Unicode.Scalar) -> Bool {
        switch c.properties.generalCategory {
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: return true
        default: return false
        }
    }
}

/// The few Python `str` methods BLEU preprocessing relies on, with Python's exact semantics.
enum PythonText {
    /// `str.isspace()` for one code point: bidirectional class WS, B or S, or category Zs.
    static func isSpace(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F,
             0x3000:
            return true
        default:
            return false
        }
    }

    /// `str.split()` with no separator: runs of whitespace separate tokens, none are empty.
    static func split(_ line: [Unicode.Scalar]) -> [[Unicode.Scalar]] {
        var tokens: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for c in line {
            if isSpace(c) {
                if !current.isEmpty { tokens.append(current); current.removeAll(keepingCapacity: true) }
            } else {
                current.append(c)
            }
        }
        if !current.isEmpty { tokens.append(current) }
        return tokens
    }

    /// `str.rstrip()`: drops trailing whitespace.
    static func rstrip(_ line: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var end = line.count
        while end > 0 && isSpace(line[end - 1]) { end -= 1 }
        return Array(line[..<end])
    }

    /// `str.replace(old, new)`: non-overlapping occurrences, left to right.
    static func replace(_ line: [Unicode.Scalar], _ old: String, _ new: String) -> [Unicode.Scalar] {
        let pattern = Array(old.unicodeScalars), replacement = Array(new.unicodeScalars)
        guard line.count >= pattern.count, let head = pattern.first else { return line }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(line.count)
        var i = 0
        while i < line.count {
            if line[i] == head && i + pattern.count <= line.count
                && line[i..<(i + pattern.count)].elementsEqual(pattern) {
                out += replacement
                i += pattern.count
            } else {
                out.append(line[i])
                i += 1
            }
        }
        return out
    }

    /// `str.lower()`: full per-code-point lowercase mapping plus the Final_Sigma context rule
    /// for U+03A3 (CPython `handle_capital_sigma`).
    static func lower(_ line: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(line.count)
        for (i, c) in line.enumerated() {
            if c.value < 0x80 {
                out.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(c.value + 32)! : c)
            } else if c.value == 0x3A3 {
                out.append(isFinalSigma(line, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out += c.properties.lowercaseMapping.unicodeScalars
            }
        }
        return out
    }

    /// \p{cased} \p{case-ignorable}* U+03A3 !(\p{case-ignorable}* \p{cased})
    private static func isFinalSigma(_ line: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0 && line[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0 && line[j].properties.isCased else { return false }
        j = i + 1
        while j < line.count && line[j].properties.isCaseIgnorable { j += 1 }
        return j == line.count || !line[j].properties.isCased
    }
}
