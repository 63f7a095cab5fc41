import Foundation
import Tensor
import Autograd
import NN

// The paper's meta-exploration signal (MetaCRS, Eq. 3 and 4): how well the explorer's GRU state h_t
// identifies the user among the training users,
//   P(e_u | h_t) = exp(h_t . e_u) / Σ_{u' in training users} exp(h_t . e_u')       (FM user embeddings e_u)
//   r_e(t) = log P(e_u | h_{t+1}) - log P(e_u | h_t)   the information action a_t added about the user
//   L_id   = -Σ_t log P(e_u | h_t)                      the identification loss on the explorer's state
// Both need e_u, so they exist for training users only (the explorer is never trained on test users).

/// P(e_u | h) over the training users.
public struct UserIdentifier: Sendable {
    /// e_u of the training users [U_train, D].
    public let table: Tensor
    /// User id -> row of `table`.
    public let rows: [Int: Int]

    /// The training users' rows of the FM user table; nil without a user table or when H differs from D
    /// (h . e_u needs equal widths, as in the paper).
    public init?(embeddings: CRSEmbeddings, trainingUsers: [Int], hidden: Int) {
        guard let user = embeddings.user, hidden == embeddings.dimension, !trainingUsers.isEmpty else { return nil }
        let d = embeddings.dimension
        var scalars: [Float] = []
        scalars.reserveCapacity(trainingUsers.count * d)
        var rows: [Int: Int] = [:]
        for (row, u) in trainingUsers.enumerated() where u < user.shape[0] {
            rows[u] = row
            scalars += user.scalars[(u * d)..<((u + 1) * d)]
        }
        table = Tensor(shape: [rows.count, d], scalars: scalars)
        self.rows = rows
    }

    /// -log P(e_u | h) on the graph. hidden [1, H] -> scalar.
    public func loss(_ g: Graph, hidden: Var, row: Int) -> Var {
        crossEntropy(logits: matmul(hidden, g.constant(table), transposeB: true), targets: [row], reduction: .sum)
    }
}
