import Foundation
import Tensor
import Autograd

// Factorization-machine embeddings for users, items and attributes, trained with BPR
// (Rendle et al. 2009) in the form EAR (Lei et al. 2020, Eq. 1) and MetaCRS use:
//
//   item score       y(u, v | P) = e_u . e_v + sum_{p in P} e_v . e_p       (P: attributes known so far)
//   attribute score  g(u, p)     = e_u . e_p
//   BPR loss         l = -log sigmoid(y(u, v+ | P) - y(u, v- | P)) + l2/2 * |rows touched|^2
//
// Training pairs are TRAINING users' observed interactions (user_item.json), minus a held-out tenth used
// for AUC. Each pair gets a uniformly drawn negative item the user never interacted with and P = a random
// subset of P_{v+} (EAR's "attributes confirmed so far"), plus one attribute triple (p+ in P_u, p- not).
//
// Gradients are hand-written (x = y+ - y-, dl/dx = sigmoid(x) - 1 =: s, c = e_u + sum_p e_p):
//   dl/de_{v+} = s c,  dl/de_{v-} = -s c,  dl/de_u = dl/de_p = s (e_{v+} - e_{v-})
//   attribute triple: dl/de_u = s (e_{p+} - e_{p-}), dl/de_{p+} = s e_u, dl/de_{p-} = -s e_u
// plus l2 * row for every row a triple touches; `FactorizationMachineTests` checks them by finite
// differences. Training is plain per-triple SGD, the update BPR was published with.
//
// Shapes: U users, I items, A attributes, D embedding width.

/// Training settings; the defaults reach AUC about 0.9 on lastfm held-out pairs in a few seconds.
public struct FMConfig: Codable, Equatable, Sendable {
    /// Embedding width D (EAR uses 64).
    public var dimension = 64
    public var epochs = 20
    public var learningRate: Float = 0.05
    /// L2 weight on every embedding row a triple touches.
    public var l2: Float = 1e-4
    /// Initial embeddings ~ N(0, initStd^2).
    public var initStd: Float = 0.1
    /// Fraction of each training user's interactions held out for AUC.
    public var heldOutFraction = 0.1
    /// Negatives per held-out pair when measuring AUC.
    public var aucNegatives = 100
    public var seed: UInt64 = 1

    public init() {}
}

/// One BPR item triple: user, positive and negative item, known attributes P.
public struct BPRItemTriple: Equatable, Sendable {
    public var user: Int, positive: Int, negative: Int
    public var attributes: [Int]
    public init(user: Int, positive: Int, negative: Int, attributes: [Int]) {
        self.user = user; self.positive = positive; self.negative = negative; self.attributes = attributes
    }
}

/// One BPR attribute triple: user, preferred and non-preferred attribute.
public struct BPRAttributeTriple: Equatable, Sendable {
    public var user: Int, positive: Int, negative: Int
    public init(user: Int, positive: Int, negative: Int) {
        self.user = user; self.positive = positive; self.negative = negative
    }
}

/// User, item and attribute embeddings.
public struct FactorizationMachine: Sendable {
    public let dimension: Int
    /// Row-major tables: user [U, D], item [I, D], attribute [A, D].
    public var user: [Float], item: [Float], attribute: [Float]
    public var userCount: Int { user.count / dimension }
    public var itemCount: Int { item.count / dimension }
    public var attributeCount: Int { attribute.count / dimension }

    public init(users: Int, items: Int, attributes: Int, dimension: Int, initStd: Float = 0.1, seed: UInt64 = 1) {
        var rng = SeededGenerator(seed: seed)
        self.dimension = dimension
        user = Tensor.randomNormal([users, dimension], std: initStd, using: &rng).scalars
        item = Tensor.randomNormal([items, dimension], std: initStd, using: &rng).scalars
        attribute = Tensor.randomNormal([attributes, dimension], std: initStd, using: &rng).scalars
    }

    /// The tables as named tensors ("user" [U, D], "item" [I, D], "attribute" [A, D]) for checkpoints.
    public var parameters: Parameters {
        Parameters([("user", Tensor(shape: [userCount, dimension], scalars: user)),
                    ("item", Tensor(shape: [itemCount, dimension], scalars: item)),
                    ("attribute", Tensor(shape: [attributeCount, dimension], scalars: attribute))])
    }

    /// Rebuilds from `parameters` (the three names above, equal widths).
    public init(parameters: Parameters) {
        let u = parameters.require("user"), i = parameters.require("item"), a = parameters.require("attribute")
        precondition(u.rank == 2 && i.rank == 2 && a.rank == 2 && u.shape[1] == i.shape[1] && i.shape[1] == a.shape[1],
                     "FM tables must be [N, D] with one D: \(u.shape) \(i.shape) \(a.shape)")
        dimension = u.shape[1]
        user = u.scalars; item = i.scalars; attribute = a.scalars
    }

    /// Dot product of row r of table x and row s of table y.
    @inline(__always)
    private static func dot(_ x: UnsafeBufferPointer<Float>, _ r: Int, _ y: UnsafeBufferPointer<Float>, _ s: Int, _ d: Int) -> Float {
        var total: Float = 0
        for k in 0..<d { total += x[r * d + k] * y[s * d + k] }
        return total
    }

    /// y(u, v | P) = e_u . e_v + sum_{p in P} e_v . e_p.
    public func itemScore(user u: Int, item v: Int, attributes: [Int] = []) -> Float {
        let d = dimension
        return user.withUnsafeBufferPointer { U in
            item.withUnsafeBufferPointer { I in
                attribute.withUnsafeBufferPointer { A in
                    attributes.reduce(Self.dot(U, u, I, v, d)) { $0 + Self.dot(I, v, A, $1, d) }
                }
            }
        }
    }

    /// e_u . e_v for every item, given a user vector (a trained row or a folded-in one). [I]
    public func itemScores(userVector: [Float]) -> [Float] {
        precondition(userVector.count == dimension, "user vector of width \(userVector.count), FM width \(dimension)")
        let scores = Tensor.matmul(Tensor(shape: [itemCount, dimension], scalars: item),       // [I, D]
                                   Tensor(shape: [dimension, 1], scalars: userVector))        // [D, 1]
        return scores.scalars                                                                 // [I]
    }

    /// Row u of the user table. [D]
    public func userVector(_ u: Int) -> [Float] { Array(user[(u * dimension)..<((u + 1) * dimension)]) }

    /// g(u, p) = e_u . e_p.
    public func attributeScore(user u: Int, attribute p: Int) -> Float {
        user.withUnsafeBufferPointer { U in attribute.withUnsafeBufferPointer { A in Self.dot(U, u, A, p, dimension) } }
    }

    // MARK: Loss and gradients

    /// Which table a gradient row belongs to.
    public enum Table: Sendable { case user, item, attribute }

    /// BPR loss of one item triple; `emit(table, row, gradient)` receives dl/d(row), once per touched
    /// row occurrence (a row used twice, e.g. P holding one attribute twice, is emitted twice).
    public func itemTripleLoss(_ t: BPRItemTriple, l2: Float, emit: (Table, Int, [Float]) -> Void) -> Float {
        let d = dimension
        var c = userVector(t.user)                                              // [D] e_u + sum_p e_p
        for p in t.attributes { for k in 0..<d { c[k] += attribute[p * d + k] } }
        var difference = [Float](repeating: 0, count: d)                       // [D] e_{v+} - e_{v-}
        var x: Float = 0
        for k in 0..<d {
            difference[k] = item[t.positive * d + k] - item[t.negative * d + k]
            x += difference[k] * c[k]
        }
        let s = sigmoid(x) - 1
        var loss = softplus(-x)
        func row(_ table: [Float], _ r: Int) -> ArraySlice<Float> { table[(r * d)..<((r + 1) * d)] }
        func emitRow(_ table: Table, _ r: Int, _ values: [Float], _ direct: [Float]) {
            loss += 0.5 * l2 * values.reduce(0) { $0 + $1 * $1 }
            emit(table, r, (0..<d).map { direct[$0] + l2 * values[$0] })
        }
        emitRow(.user, t.user, Array(row(user, t.user)), difference.map { s * $0 })
        emitRow(.item, t.positive, Array(row(item, t.positive)), c.map { s * $0 })
        emitRow(.item, t.negative, Array(row(item, t.negative)), c.map { -s * $0 })
        for p in t.attributes { emitRow(.attribute, p, Array(row(attribute, p)), difference.map { s * $0 }) }
        return loss
    }

    /// BPR loss of one attribute triple, gradients emitted as in `itemTripleLoss`.
    public func attributeTripleLoss(_ t: BPRAttributeTriple, l2: Float, emit: (Table, Int, [Float]) -> Void) -> Float {
        let d = dimension
        let eu = userVector(t.user)
        let ep = Array(attribute[(t.positive * d)..<((t.positive + 1) * d)])
        let en = Array(attribute[(t.negative * d)..<((t.negative + 1) * d)])
        var x: Float = 0
        for k in 0..<d { x += eu[k] * (ep[k] - en[k]) }
        let s = sigmoid(x) - 1
        var loss = softplus(-x)
        for (table, r, values, direct) in [(Table.user, t.user, eu, (0..<d).map { s * (ep[$0] - en[$0]) }),
                                           (.attribute, t.positive, ep, eu.map { s * $0 }),
                                           (.attribute, t.negative, en, eu.map { -s * $0 })] {
            loss += 0.5 * l2 * values.reduce(0) { $0 + $1 * $1 }
            emit(table, r, (0..<d).map { direct[$0] + l2 * values[$0] })
        }
        return loss
    }

    /// Summed loss of a batch and its dense gradient ("user", "item", "attribute" as in `parameters`).
    public func lossAndGradient(items: [BPRItemTriple], attributes: [BPRAttributeTriple], l2: Float) -> (loss: Float, gradient: Parameters) {
        var gUser = [Float](repeating: 0, count: user.count)
        var gItem = [Float](repeating: 0, count: item.count)
        var gAttribute = [Float](repeating: 0, count: attribute.count)
        let d = dimension
        func add(_ table: Table, _ r: Int, _ g: [Float]) {
            switch table {
            case .user: for k in 0..<d { gUser[r * d + k] += g[k] }
            case .item: for k in 0..<d { gItem[r * d + k] += g[k] }
            case .attribute: for k in 0..<d { gAttribute[r * d + k] += g[k] }
            }
        }
        var loss: Float = 0
        for t in items { loss += itemTripleLoss(t, l2: l2, emit: add) }
        for t in attributes { loss += attributeTripleLoss(t, l2: l2, emit: add) }
        let gradient = FactorizationMachine(dimensionOf: self, user: gUser, item: gItem, attribute: gAttribute).parameters
        return (loss, gradient)
    }

    private init(dimensionOf other: FactorizationMachine, user: [Float], item: [Float], attribute: [Float]) {
        dimension = other.dimension
        self.user = user; self.item = item; self.attribute = attribute
    }

    /// SGD on one triple: every emitted row gradient is applied after the loss is computed.
    @discardableResult
    public mutating func sgdStep(item t: BPRItemTriple?, attribute a: BPRAttributeTriple?, learningRate: Float, l2: Float) -> Float {
        var updates: [(Table, Int, [Float])] = []
        var loss: Float = 0
        if let t { loss += itemTripleLoss(t, l2: l2) { updates.append(($0, $1, $2)) } }
        if let a { loss += attributeTripleLoss(a, l2: l2) { updates.append(($0, $1, $2)) } }
        let d = dimension
        for (table, r, g) in updates {
            switch table {
            case .user: for k in 0..<d { user[r * d + k] -= learningRate * g[k] }
            case .item: for k in 0..<d { item[r * d + k] -= learningRate * g[k] }
            case .attribute: for k in 0..<d { attribute[r * d + k] -= learningRate * g[k] }
            }
        }
        return loss
    }
}

@inline(__always) func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }
/// log(1 + e^x), stable for large |x|.
@inline(__always) func softplus(_ x: Float) -> Float { max(x, 0) + log1p(exp(-abs(x))) }

// MARK: - Training

/// A progress report after each epoch.
public struct FMEpochReport: Sendable {
    public var epoch: Int
    public var meanLoss: Double
    /// AUC of e_u . e_v on held-out pairs of training users against sampled unseen items.
    public var heldOutAUC: Double
    public var seconds: Double

    public var line: String {
        String(format: "fm epoch %d  loss %.4f  held-out AUC %.4f  (%.1fs)", epoch, meanLoss, heldOutAUC, seconds)
    }
}

/// BPR training of a `FactorizationMachine` on a dataset's training users.
public struct FMTrainer {
    public let dataset: CRSDataset
    public let config: FMConfig
    /// (user, item) training pairs and held-out pairs.
    public let trainPairs: [(user: Int, item: Int)]
    public let heldOutPairs: [(user: Int, item: Int)]
    /// All observed items of each user (negatives are drawn outside this set).
    private let seen: [Set<Int>]

    public init(dataset: CRSDataset, config: FMConfig = FMConfig()) {
        self.dataset = dataset
        self.config = config
        var rng = SeededGenerator(seed: config.seed &+ 101)
        var train: [(user: Int, item: Int)] = [], heldOut: [(user: Int, item: Int)] = []
        for u in dataset.trainUsers {
            var items = dataset.userItems[u]
            items.shuffle(using: &rng)
            let hold = items.count >= 2 ? max(1, Int((Double(items.count) * config.heldOutFraction).rounded())) : 0
            heldOut += items.prefix(hold).map { (u, $0) }
            train += items.dropFirst(hold).map { (u, $0) }
        }
        trainPairs = train
        heldOutPairs = heldOut
        seen = dataset.userItems.map(Set.init)
    }

    /// A uniformly drawn item that `user` never interacted with.
    func negative(for user: Int, using rng: inout SeededGenerator) -> Int {
        while true {
            let v = Int.random(in: 0..<dataset.itemCount, using: &rng)
            if !seen[user].contains(v) { return v }
        }
    }

    /// Trains from a fresh seeded initialisation; `progress` gets one report per epoch.
    public func train(progress: ((FMEpochReport) -> Void)? = nil) -> (model: FactorizationMachine, reports: [FMEpochReport]) {
        var model = FactorizationMachine(users: dataset.userCount, items: dataset.itemCount,
                                         attributes: dataset.attributeCount, dimension: config.dimension,
                                         initStd: config.initStd, seed: config.seed)
        var rng = SeededGenerator(seed: config.seed &+ 202)
        var order = Array(0..<trainPairs.count)
        var reports: [FMEpochReport] = []
        for epoch in 1...max(config.epochs, 1) {
            let start = Date()
            order.shuffle(using: &rng)
            var total = 0.0
            for index in order {
                let (u, v) = trainPairs[index]
                let triple = BPRItemTriple(user: u, positive: v, negative: negative(for: u, using: &rng),
                                           attributes: randomSubset(dataset.itemAttributes[v], using: &rng))
                total += Double(model.sgdStep(item: triple, attribute: attributeTriple(u, using: &rng),
                                              learningRate: config.learningRate, l2: config.l2))
            }
            let report = FMEpochReport(epoch: epoch, meanLoss: total / Double(max(order.count, 1)),
                                       heldOutAUC: heldOutAUC(model), seconds: Date().timeIntervalSince(start))
            reports.append(report)
            progress?(report)
        }
        return (model, reports)
    }

    /// EAR's P: a subset of P_v of uniformly drawn size 0...|P_v|.
    private func randomSubset(_ attributes: [Int], using rng: inout SeededGenerator) -> [Int] {
        let size = Int.random(in: 0...attributes.count, using: &rng)
        return Array(attributes.shuffled(using: &rng).prefix(size))
    }

    /// p+ from P_u, p- outside it (nil when P_u is empty or holds every attribute).
    private func attributeTriple(_ u: Int, using rng: inout SeededGenerator) -> BPRAttributeTriple? {
        let preferred = dataset.userAttributes[u]
        guard !preferred.isEmpty && preferred.count < dataset.attributeCount else { return nil }
        let mask = dataset.userMasks[u]
        var negative: Int
        repeat { negative = Int.random(in: 0..<dataset.attributeCount, using: &rng) } while mask >> UInt64(negative) & 1 == 1
        return BPRAttributeTriple(user: u, positive: preferred[Int.random(in: 0..<preferred.count, using: &rng)], negative: negative)
    }

    /// AUC = P(e_u . e_v > e_u . e_n) over held-out pairs (u, v) and `aucNegatives` unseen items n each
    /// (ties count one half); the negatives are the same for every call (fixed seed).
    public func heldOutAUC(_ model: FactorizationMachine) -> Double {
        var rng = SeededGenerator(seed: config.seed &+ 303)
        var wins = 0.0, comparisons = 0.0
        for (u, v) in heldOutPairs {
            let positive = model.itemScore(user: u, item: v)
            for _ in 0..<config.aucNegatives {
                let n = model.itemScore(user: u, item: negative(for: u, using: &rng))
                wins += positive > n ? 1 : (positive == n ? 0.5 : 0)
                comparisons += 1
            }
        }
        return comparisons > 0 ? wins / comparisons : 0.5
    }
}

// MARK: - Fold-in and the MetaCRS interaction sampler

extension FactorizationMachine {
    /// An embedding for a user outside the training set: BPR-SGD on e_u alone (items fixed) over the
    /// user's observed `items`, `epochs` passes. [D]
    public func foldIn(items: [Int], epochs: Int = 50, learningRate: Float = 0.05, l2: Float = 1e-4, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        let d = dimension
        var eu = Tensor.randomNormal([d], std: 0.1, using: &rng).scalars
        let seenItems = Set(items)
        guard !items.isEmpty && seenItems.count < itemCount else { return eu }
        for _ in 0..<epochs {
            for v in items.shuffled(using: &rng) {
                var n: Int
                repeat { n = Int.random(in: 0..<itemCount, using: &rng) } while seenItems.contains(n)
                var x: Float = 0
                for k in 0..<d { x += eu[k] * (item[v * d + k] - item[n * d + k]) }
                let s = sigmoid(x) - 1
                for k in 0..<d { eu[k] -= learningRate * (s * (item[v * d + k] - item[n * d + k]) + l2 * eu[k]) }
            }
        }
        return eu
    }
}

/// MetaCRS's simulated interactions: `count` distinct items per user drawn without replacement with
/// probability proportional to max(e_u . e_v, 0) (Efraimidis-Spirakis keys log(r)/w; the dot product
/// can be negative, so non-positive scores get weight 0 and only fill up a list when too few are positive,
/// highest score first).
public enum InteractionSampler {
    public static func sample(scores: [Float], count: Int, using rng: inout SeededGenerator) -> [Int] {
        var keyed: [(key: Double, item: Int)] = []
        var rest: [(score: Float, item: Int)] = []
        for (v, w) in scores.enumerated() {
            if w > 0 {
                let r = max(Double(rng.nextUniform()), 1e-12)
                keyed.append((log(r) / Double(w), v))
            } else {
                rest.append((w, v))
            }
        }
        keyed.sort { $0.key > $1.key }
        var out = keyed.prefix(count).map(\.item)
        if out.count < count {
            rest.sort { $0.score > $1.score }
            out += rest.prefix(count - out.count).map(\.item)
        }
        return out
    }

    /// `count` interactions for every user: training users use their FM row, the others a fold-in on
    /// their observed items. Seeded per user, so a user's list does not depend on the others.
    public static func sampleAll(dataset: CRSDataset, model: FactorizationMachine, count: Int = 40, seed: UInt64) -> [[Int]] {
        let training = Set(dataset.trainUsers)
        return (0..<dataset.userCount).map { u in
            var rng = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(u))
            let vector = training.contains(u) ? model.userVector(u)
                : model.foldIn(items: dataset.userItems[u], seed: seed ^ UInt64(u) &* 31)
            return sample(scores: model.itemScores(userVector: vector), count: count, using: &rng)
        }
    }
}
