import Foundation
import Tensor

/// GloVe word vectors (Pennington et al. 2014) from `glove.6B.<D>d.npy` (NumPy format v1/v2, float32
/// little endian, C order, shape [N, D]) and `glove.6B.vocab.txt` (word of row i on line i + 1).
///
/// The matrix is read once into one Tensor; words are kept in an array. Lookups for a Vocabulary go the
/// other way round (vocabulary words -> ids, then one pass over the GloVe words), so no 400k-entry map
/// is ever built.
public struct GloVe: Sendable {
    /// Row i's word.
    public let words: [String]
    /// [N, D]
    public let vectors: Tensor

    public var dimension: Int { vectors.shape[1] }

    public init(words: [String], vectors: Tensor) throws {
        guard vectors.rank == 2, vectors.shape[0] == words.count else {
            throw TextError(file: "<glove>", "\(words.count) words for a matrix of shape \(vectors.shape)")
        }
        self.words = words
        self.vectors = vectors
    }

    /// Loads `<directory>/glove.6B.<dimension>d.npy` and `<directory>/glove.6B.vocab.txt`.
    public static func load(directory: URL, dimension: Int = 50) throws -> GloVe {
        let matrixURL = directory.appendingPathComponent("glove.6B.\(dimension)d.npy")
        let vocabURL = directory.appendingPathComponent("glove.6B.vocab.txt")
        let vectors = try NPY.readFloat32Matrix(from: matrixURL)
        guard vectors.shape[1] == dimension else {
            throw TextError(file: matrixURL.path, "expected \(dimension) columns, found shape \(vectors.shape)")
        }
        let data = try Data(contentsOf: vocabURL)
        guard let text = String(data: data, encoding: .utf8) else { throw TextError(file: vocabURL.path, "not valid UTF-8") }
        var words = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if words.last == "" { words.removeLast() }
        if let empty = words.firstIndex(of: "") { throw TextError(file: vocabURL.path, line: empty + 1, "empty word") }
        guard words.count == vectors.shape[0] else {
            throw TextError(file: vocabURL.path, "\(words.count) words but \(matrixURL.lastPathComponent) has \(vectors.shape[0]) rows")
        }
        return try GloVe(words: words, vectors: vectors)
    }

    /// How much of a vocabulary (types) and of a corpus (tokens, given counts) has a GloVe vector.
    public struct Coverage: Sendable, Equatable {
        public var types: Int, typesCovered: Int
        public var tokens: Int, tokensCovered: Int
        /// Covered types whose vector is the mean of their contraction parts' vectors.
        public var typesComposed: Int = 0
        public var typeFraction: Double { types == 0 ? 0 : Double(typesCovered) / Double(types) }
        public var tokenFraction: Double { tokens == 0 ? 0 : Double(tokensCovered) / Double(tokens) }
    }

    /// The embedding matrix [V, D] for `vocabulary`: the GloVe row where the word exists; for a
    /// Persona-Chat contraction GloVe lacks (GloVe 6B splits them the Penn Treebank way: "i'm" -> i 'm,
    /// "don't" -> do n't) the mean of its parts' rows when all parts exist ("composed"); N(0, std^2)
    /// rows (seeded) for the rest. The four specials are zero (PAD must stay zero; UNK/EOS/SOS are learned).
    /// `counts` (token -> corpus count) feeds the token-level coverage. Specials are not counted.
    public func embeddingMatrix(for vocabulary: Vocabulary, counts: [String: Int] = [:], std: Float = 0.1,
                                seed: UInt64 = 0) -> (matrix: Tensor, coverage: Coverage) {
        let d = dimension
        var rowOf = [Int](repeating: -1, count: vocabulary.count)  // vocabulary id -> GloVe row
        var wanted: [String: Int] = [:]
        for id in Vocabulary.specials.count..<vocabulary.count { wanted[vocabulary.tokens[id]] = id }
        var partsOf: [Int: [String]] = [:]  // vocabulary id -> contraction parts
        var partRow: [String: Int] = [:]
        for id in Vocabulary.specials.count..<vocabulary.count {
            if let parts = GloVe.contractionParts(vocabulary.tokens[id]) {
                partsOf[id] = parts
                for part in parts { partRow[part] = -1 }
            }
        }
        for (row, word) in words.enumerated() {
            if let id = wanted[word], rowOf[id] < 0 { rowOf[id] = row }
            if partRow[word] == -1 { partRow[word] = row }
        }
        var rng = SeededGenerator(seed: seed)
        var scalars = [Float](repeating: 0, count: vocabulary.count * d)  // [V, D]
        var coverage = Coverage(types: 0, typesCovered: 0, tokens: 0, tokensCovered: 0)
        var composed = 0
        vectors.scalars.withUnsafeBufferPointer { source in
            scalars.withUnsafeMutableBufferPointer { target in
                for id in Vocabulary.specials.count..<vocabulary.count {
                    let count = counts[vocabulary.tokens[id]] ?? 0
                    coverage.types += 1
                    coverage.tokens += count
                    if rowOf[id] >= 0 {
                        coverage.typesCovered += 1
                        coverage.tokensCovered += count
                        for j in 0..<d { target[id * d + j] = source[rowOf[id] * d + j] }
                    } else if let parts = partsOf[id], parts.allSatisfy({ (partRow[$0] ?? -1) >= 0 }) {
                        coverage.typesCovered += 1
                        coverage.tokensCovered += count
                        composed += 1
                        let scale = 1 / Float(parts.count)
                        for part in parts {
                            let row = partRow[part]!
                            for j in 0..<d { target[id * d + j] += scale * source[row * d + j] }
                        }
                    } else {
                        for j in 0..<d { target[id * d + j] = std * rng.nextNormal() }
                    }
                }
            }
        }
        coverage.typesComposed = composed
        return (Tensor(shape: [vocabulary.count, d], scalars: scalars), coverage)
    }

    /// Penn Treebank split of a contraction: "don't" -> ["do", "n't"], "i'm" -> ["i", "'m"]; nil if none.
    public static func contractionParts(_ token: String) -> [String]? {
        guard let apostrophe = token.lastIndex(of: "'"), apostrophe != token.startIndex,
              token.index(after: apostrophe) != token.endIndex else { return nil }
        if token.hasSuffix("n't"), token.count > 3 {
            let stem = String(token.dropLast(3))
            return GloVe.contractionParts(stem).map { $0 + ["n't"] } ?? [stem, "n't"]
        }
        let head = String(token[..<apostrophe])
        let tail = String(token[apostrophe...])
        return (GloVe.contractionParts(head) ?? [head]) + [tail]
    }

    /// Coverage of `counts` (token -> count) without building a matrix.
    public func coverage(of counts: [String: Int]) -> Coverage {
        var seen = Set<String>()
        for word in words where counts[word] != nil { seen.insert(word) }
        var coverage = Coverage(types: counts.count, typesCovered: seen.count, tokens: 0, tokensCovered: 0)
        for (token, count) in counts {
            coverage.tokens += count
            if seen.contains(token) { coverage.tokensCovered += count }
        }
        return coverage
    }
}

/// Reader for NumPy `.npy` files (format spec: numpy.lib.format): magic `\x93NUMPY`, version byte pair,
/// header length (uint16 LE for v1, uint32 LE for v2/v3), an ASCII Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }` padded with spaces to a multiple of 64
/// and ending in '\n', then the raw data.
public enum NPY {
    public struct Header: Equatable, Sendable {
        public var descr: String
        public var fortranOrder: Bool
        public var shape: [Int]
        /// Byte offset of the data.
        public var dataOffset: Int
    }

    /// A float32 rank-2 array as a row-major Tensor [N, D]; a Fortran-order (column-major) file, as the
    /// shared glove.6B.50d.npy is, is transposed while copying. Rejects other dtypes, other ranks, and a
    /// file whose size is not header + N*D*4 bytes (truncated or trailing bytes).
    public static func readFloat32Matrix(from url: URL) throws -> Tensor {
        let data = try Data(contentsOf: url, options: .mappedIfSafe)
        let header = try parseHeader(data, file: url.path)
        guard header.descr == "<f4" || (header.descr == "=f4" && Int(littleEndian: 1) == 1) else {
            throw TextError(file: url.path, "dtype '\(header.descr)' is not little-endian float32 ('<f4')")
        }
        guard header.shape.count == 2 else { throw TextError(file: url.path, "expected a 2-d array, found shape \(header.shape)") }
        let count = header.shape[0] * header.shape[1]
        let expected = header.dataOffset + count * 4
        guard data.count == expected else {
            throw TextError(file: url.path, data.count < expected
                ? "truncated: \(data.count) bytes, shape \(header.shape) needs \(expected)"
                : "\(data.count - expected) trailing bytes after the \(header.shape) array")
        }
        let (n, d) = (header.shape[0], header.shape[1])
        var scalars = [Float](repeating: 0, count: count)  // [N, D] row-major
        scalars.withUnsafeMutableBytes { target in
            data.withUnsafeBytes { source in
                let raw = UnsafeRawBufferPointer(rebasing: source[header.dataOffset..<expected])
                if !header.fortranOrder || n == 1 || d == 1 {
                    target.copyMemory(from: raw)
                    return
                }
                // Column-major [D][N] -> row-major [N][D], in blocks of rows to stay in cache.
                let out = target.bindMemory(to: Float.self)
                let block = 256
                for rowStart in stride(from: 0, to: n, by: block) {
                    let rowEnd = min(rowStart + block, n)
                    for j in 0..<d {
                        for i in rowStart..<rowEnd {
                            out[i * d + j] = raw.loadUnaligned(fromByteOffset: (j * n + i) * 4, as: Float.self)
                        }
                    }
                }
            }
        }
        #if _endian(big)
        scalars = scalars.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        #endif
        return Tensor(shape: header.shape, scalars: scalars)
    }

    /// Parses the magic, version and header dict.
    public static func parseHeader(_ data: Data, file: String) throws -> Header {
        let bytes = [UInt8](data.prefix(12))
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw TextError(file: file, "not a .npy file (missing \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw TextError(file: file, "truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default:
            throw TextError(file: file, "unsupported .npy format version \(major).\(bytes[7])")
        }
        guard data.count >= start + headerLength else { throw TextError(file: file, "truncated .npy header") }
        guard let dict = String(data: data.subdata(in: data.startIndex + start..<data.startIndex + start + headerLength), encoding: .utf8) else {
            throw TextError(file: file, ".npy header is not text")
        }
        var parser = DictParser(text: dict, file: file)
        let fields = try parser.parse()
        guard case .string(let descr)? = fields["descr"] else { throw TextError(file: file, ".npy header has no 'descr' string") }
        guard case .bool(let fortran)? = fields["fortran_order"] else { throw TextError(file: file, ".npy header has no 'fortran_order' flag") }
        guard case .tuple(let shape)? = fields["shape"] else { throw TextError(file: file, ".npy header has no 'shape' tuple") }
        return Header(descr: descr, fortranOrder: fortran, shape: shape, dataOffset: start + headerLength)
    }

    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]) }

    /// The subset of Python literal syntax .npy headers use: a dict of str keys to str, bool or int tuples.
    struct DictParser {
        let scalars: [Unicode.Scalar]
        var position = 0
        let file: String

        init(text: String, file: String) {
            scalars = Array(text.unicodeScalars)
            self.file = file
        }

        mutating func parse() throws -> [String: Value] {
            var fields: [String: Value] = [:]
            try expect("{")
            while true {
                skipSpace()
                if peek() == "}" { position += 1; break }
                let key = try string()
                try expect(":")
                skipSpace()
                fields[key] = try value()
                skipSpace()
                if peek() == "," { position += 1; continue }
                try expect("}")
                break
            }
            return fields
        }

        mutating func value() throws -> Value {
            switch peek() {
            case "'", "\"": return .string(try string())
            case "(":
                position += 1
                var items: [Int] = []
                while true {
                    skipSpace()
                    if peek() == ")" { position += 1; break }
                    var digits = ""
                    while let c = peek(), c.properties.numericType != nil || c == "L" {
                        if c != "L" { digits.unicodeScalars.append(c) }
                        position += 1
                    }
                    guard let n = Int(digits), n >= 0 else { throw error("bad shape entry") }
                    items.append(n)
                    skipSpace()
                    if peek() == "," { position += 1 }
                }
                return .tuple(items)
            default:
                if consume("True") { return .bool(true) }
                if consume("False") { return .bool(false) }
                throw error("unexpected value")
            }
        }

        mutating func string() throws -> String {
            skipSpace()
            guard let quote = peek(), quote == "'" || quote == "\"" else { throw error("expected a quoted string") }
            position += 1
            var out = ""
            while let c = peek(), c != quote { out.unicodeScalars.append(c); position += 1 }
            guard peek() == quote else { throw error("unterminated string") }
            position += 1
            return out
        }

        func peek() -> Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }
        mutating func skipSpace() { while let c = peek(), c.properties.isWhitespace { position += 1 } }
        mutating func expect(_ c: Unicode.Scalar) throws {
            skipSpace()
            guard peek() == c else { throw error("expected '\(c)'") }
            position += 1
        }
        mutating func consume(_ word: String) -> Bool {
            let w = Array(word.unicodeScalars)
            guard position + w.count <= scalars.count, Array(scalars[position..<position + w.count]) == w else { return false }
            position += w.count
            return true
        }
        func error(_ problem: String) -> TextError {
            TextError(file: file, ".npy header: \(problem) at character \(position) of \(String(String.UnicodeScalarView(scalars)).debugDescription)")
        }
    }
}
