import Tensor
import Autograd

/// A one-layer gated recurrent unit over a sequence (Cho et al. 2014), PyTorch `nn.GRUCell` layout
/// and gate order (r, z, n):
///   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr),  z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
///   n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),  h' = (1 - z) * n + z * h.
/// Parameters `<name>.weight_ih` [3Hd, In], `<name>.weight_hh` [3Hd, Hd], `<name>.bias_ih`, `<name>.bias_hh` [3Hd].
public struct GRU: Sendable {
    public let name: String
    public let inputSize: Int
    public let hiddenSize: Int

    public init(name: String, inputSize: Int, hiddenSize: Int) {
        self.name = name
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
    }

    /// PyTorch's default: every tensor uniform in +-1/sqrt(Hd).
    public func initialize(into parameters: inout Parameters, using rng: inout SeededGenerator) {
        let bound = 1 / Float(hiddenSize).squareRoot()
        let gates = 3 * hiddenSize
        parameters["\(name).weight_ih"] = Tensor.randomUniform([gates, inputSize], bound: bound, using: &rng)
        parameters["\(name).weight_hh"] = Tensor.randomUniform([gates, hiddenSize], bound: bound, using: &rng)
        parameters["\(name).bias_ih"] = Tensor.randomUniform([gates], bound: bound, using: &rng)
        parameters["\(name).bias_hh"] = Tensor.randomUniform([gates], bound: bound, using: &rng)
    }

    /// Runs over x [B, T, In] from `initial` [B, Hd] (zeros when nil). With `lengths`, sequence b stops
    /// updating after lengths[b] steps: its later outputs repeat its final state and `last` is that state.
    /// -> outputs [B, T, Hd] (every step's hidden state), last [B, Hd].
    public func callAsFunction(_ g: Graph, _ x: Var, initial: Var? = nil, lengths: [Int]? = nil)
        -> (outputs: Var, last: Var)
    {
        precondition(x.rank == 3 && x.shape[2] == inputSize, "\(name): input \(x.shape), expected [B, T, \(inputSize)]")
        let (batch, time) = (x.shape[0], x.shape[1])
        precondition(time > 0, "\(name): empty sequence")
        if let initial {
            precondition(initial.shape == [batch, hiddenSize], "\(name): initial state \(initial.shape), expected [\(batch), \(hiddenSize)]")
        }
        if let lengths {
            precondition(lengths.count == batch && lengths.allSatisfy { (1...time).contains($0) },
                         "\(name): lengths \(lengths) for batch \(batch) and \(time) steps")
        }
        let (wih, whh) = (g.param("\(name).weight_ih"), g.param("\(name).weight_hh"))
        let (bih, bhh) = (g.param("\(name).bias_ih"), g.param("\(name).bias_hh"))
        var h = initial ?? g.constant(Tensor(zeros: [batch, hiddenSize]))            // [B, Hd]
        var outputs: [Var] = []
        // Step t reads rows b * T + t of x as [B*T, In] with a row gather, whose backward adds into
        // those rows only; a slice per step would add a whole [B, T, In] gradient each step, O(T^2).
        let rows = x.reshaped([batch * time, inputSize])
        for t in 0..<time {
            let input = embedding(rows, indices: (0..<batch).map { $0 * time + t })        // [B, In]
            let next = gruCell(input: input, hidden: h, weightIH: wih, weightHH: whh, biasIH: bih, biasHH: bhh)
            if let lengths, lengths.contains(where: { $0 <= t }) {
                // h = h + (h' - h) * active, active[b] = 1 while t < lengths[b].
                var active = Tensor(zeros: [batch, hiddenSize])
                for b in 0..<batch where t < lengths[b] {
                    for c in 0..<hiddenSize { active.scalars[b * hiddenSize + c] = 1 }
                }
                h = h + (next - h) * g.constant(active)
            } else {
                h = next
            }
            outputs.append(h.reshaped([batch, 1, hiddenSize]))
        }
        return (concatenate(outputs, axis: 1), h)                                   // [B, T, Hd], [B, Hd]
    }
}
