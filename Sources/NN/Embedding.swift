import Tensor
import Autograd

/// A lookup table of vectors, table [V, C] named `<name>.weight` (PyTorch `nn.Embedding`).
///
/// The same table can serve as the output projection (tied input/output embeddings, as PAML shares
/// one embedding between encoder, decoder and generator): `logits(_:_:)` computes h E^T.
public struct Embedding: Sendable {
    public let name: String
    public let vocabularySize: Int
    public let width: Int
    /// A row set to zero at initialization (PAD), as PyTorch's `padding_idx` does.
    public let paddingIndex: Int?

    public init(name: String, vocabularySize: Int, width: Int, paddingIndex: Int? = nil) {
        precondition(paddingIndex.map { (0..<vocabularySize).contains($0) } ?? true,
                     "\(name): padding index \(paddingIndex!) outside vocabulary of \(vocabularySize)")
        self.name = name
        self.vocabularySize = vocabularySize
        self.width = width
        self.paddingIndex = paddingIndex
    }

    /// Random rows from Normal(0, C^-1/2), so a row has about unit norm (the scale PAML's release uses
    /// for rows without a pretrained vector).
    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        var table = Tensor.randomNormal([vocabularySize, width], std: 1 / Float(width).squareRoot(), using: &rng)
        if let pad = paddingIndex {
            for c in 0..<width { table.scalars[pad * width + c] = 0 }
        }
        parameters["\(name).weight"] = table
    }

    /// Uses a given matrix [V, C] (pretrained vectors, e.g. GloVe, with random rows for words it lacks).
    public func initialize(into parameters: inout Parameters, from matrix: Tensor) {
        precondition(matrix.shape == [vocabularySize, width],
                     "\(name): pretrained matrix \(matrix.shape), expected [\(vocabularySize), \(width)]")
        parameters["\(name).weight"] = matrix
    }

    /// ids (row-major over `shape`) -> [shape..., C]. Gradients reach only the rows looked up.
    public func callAsFunction(_ g: Graph, _ ids: [Int], shape: [Int]? = nil) -> Var {
        let shape = shape ?? [ids.count]
        precondition(Tensor.count(of: shape) == ids.count, "\(name): \(ids.count) ids for shape \(shape)")
        if let bad = ids.first(where: { !(0..<vocabularySize).contains($0) }) {
            preconditionFailure("\(name): id \(bad) outside vocabulary of \(vocabularySize)")
        }
        return embedding(g.param("\(name).weight"), indices: ids).reshaped(shape + [width])   // [N, C] -> [..., C]
    }

    /// Tied output projection: h [..., C] -> logits [..., V] = h E^T.
    public func logits(_ g: Graph, _ h: Var) -> Var {
        precondition(h.shape.last == width, "\(name): hidden \(h.shape), expected last dimension \(width)")
        return matmul(h, g.param("\(name).weight"), transposeB: true)
    }
}
