import XCTest
import Tensor
import TestSupport
@testable import Text

final class GloVeTests: XCTestCase {
    /// A .npy v1 file as numpy writes it: magic, version, uint16 header length, dict padded to 64 bytes.
    func npy(descr: String = "<f4", fortran: Bool = false, shape: String, values: [Float], dropLast: Int = 0) -> Data {
        var dict = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        while (10 + dict.utf8.count + 1) % 64 != 0 { dict += " " }
        dict += "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(dict.utf8.count & 0xff), UInt8(dict.utf8.count >> 8)])
        data.append(Data(dict.utf8))
        values.withUnsafeBytes { data.append(contentsOf: $0) }
        return data.dropLast(dropLast)
    }

    func testReadsNpyAndBuildsEmbeddingMatrix() throws {
        let dir = try temporaryDirectory()
        try npy(shape: "(3, 2)", values: [1, 2, 3, 4, 5, 6]).write(to: dir.appendingPathComponent("glove.6B.2d.npy"))
        try "the\ncat\ni'm\n".write(to: dir.appendingPathComponent("glove.6B.vocab.txt"), atomically: true, encoding: .utf8)
        let glove = try GloVe.load(directory: dir, dimension: 2)
        XCTAssertEqual(glove.vectors.shape, [3, 2])
        let vocab = try Vocabulary(words: ["cat", "dog", "the"])
        let (matrix, coverage) = glove.embeddingMatrix(for: vocab, counts: ["cat": 5, "dog": 1, "the": 10], seed: 7)
        XCTAssertEqual(matrix.shape, [7, 2])
        XCTAssertEqual(Array(matrix.scalars[0..<8]), [0, 0, 0, 0, 0, 0, 0, 0])  // specials
        XCTAssertEqual(Array(matrix.scalars[8..<10]), [3, 4])  // cat
        XCTAssertEqual(Array(matrix.scalars[12..<14]), [1, 2])  // the
        XCTAssertNotEqual(matrix.scalars[10], 0)  // dog: seeded normal
        XCTAssertEqual(glove.embeddingMatrix(for: vocab, seed: 7).matrix, matrix)
        XCTAssertEqual(coverage, GloVe.Coverage(types: 3, typesCovered: 2, tokens: 16, tokensCovered: 15, typesComposed: 0))
    }

    /// Fortran order (column-major) is transposed to row-major: stored 1 2 3 | 4 5 6 for shape (3, 2).
    func testFortranOrder() throws {
        let url = try temporaryDirectory().appendingPathComponent("f.npy")
        try npy(fortran: true, shape: "(3, 2)", values: [1, 2, 3, 4, 5, 6]).write(to: url)
        XCTAssertEqual(try NPY.readFloat32Matrix(from: url), Tensor(shape: [3, 2], scalars: [1, 4, 2, 5, 3, 6]))
    }

    func testContractionParts() {
        XCTAssertEqual(GloVe.contractionParts("don't"), ["do", "n't"])
        XCTAssertEqual(GloVe.contractionParts("i'm"), ["i", "'m"])
        XCTAssertEqual(GloVe.contractionParts("that'sn't"), ["that", "'s", "n't"])
        XCTAssertNil(GloVe.contractionParts("hello"))
        XCTAssertNil(GloVe.contractionParts("'"))
    }

    func testRejectsBadNpy() throws {
        let dir = try temporaryDirectory()
        func error(_ data: Data) -> String {
            let url = dir.appendingPathComponent("m.npy")
            try! data.write(to: url)
            do { _ = try NPY.readFloat32Matrix(from: url); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(error(npy(descr: "<f8", shape: "(1, 2)", values: [1, 2, 3, 4])).contains("dtype '<f8' is not"))
        XCTAssertTrue(error(npy(shape: "(2,)", values: [1, 2])).contains("expected a 2-d array, found shape [2]"))
        XCTAssertTrue(error(npy(shape: "(2, 2)", values: [1, 2, 3, 4], dropLast: 3)).contains("truncated: "))
        XCTAssertTrue(error(npy(shape: "(2, 2)", values: [1, 2, 3, 4], dropLast: 4)).contains("truncated: "))
        XCTAssertTrue(error(Data("hello world".utf8)).contains("missing \\x93NUMPY magic"))
        XCTAssertTrue(error(npy(shape: "(2, 2)", values: [1, 2, 3, 4, 5])).contains("4 trailing bytes"))
    }

    func testRealGloVe() throws {
        let dir = try RealData.file("glove")
        let start = Date()
        let glove = try GloVe.load(directory: dir)
        let seconds = Date().timeIntervalSince(start)
        XCTAssertEqual(glove.vectors.shape, [400_000, 50])
        let row = try XCTUnwrap(glove.words.firstIndex(of: "the"))
        assertClose(Tensor(Array(glove.vectors.scalars[row * 50..<row * 50 + 4])), Tensor([0.418, 0.24968, -0.41242, 0.1217]))
        let vocab = try Vocabulary(words: ["the", "i'm", "zzzqqqxx"])
        let (matrix, coverage) = glove.embeddingMatrix(for: vocab)
        XCTAssertEqual(matrix[4, 0], 0.418)
        // GloVe 6B has no "i'm": its row is the mean of "i" and "'m".
        let i = glove.words.firstIndex(of: "i")!, m = glove.words.firstIndex(of: "'m")!
        assertClose(matrix[5, 3], (glove.vectors[i, 3] + glove.vectors[m, 3]) / 2)
        XCTAssertEqual(coverage.typesCovered, 2)
        XCTAssertEqual(coverage.typesComposed, 1)
        print("GloVe 400000x50 loaded in \(String(format: "%.2f", seconds)) s")
    }
}
