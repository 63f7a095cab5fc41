import Autograd
import Tensor

extension AttentionCache {
    /// The cache for a new batch made of rows `indices` of this one (beam search: each surviving
    /// hypothesis continues from its parent's keys and values). Inference only: the result is constant.
    public func selectingBatch(_ indices: [Int], in g: Graph) -> AttentionCache {
        var out = AttentionCache()
        if let keys { out.keys = g.constant(keys.value.gatheringRows(indices)) }       // [B', H, T, Dk]
        if let values { out.values = g.constant(values.value.gatheringRows(indices)) } // [B', H, T, Dv]
        return out
    }
}

extension KeyValueCache {
    /// Every layer's cache reordered to batch rows `indices` (see `AttentionCache.selectingBatch`).
    public func selectingBatch(_ indices: [Int], in g: Graph) -> KeyValueCache {
        var out = self
        out.layers = layers.map {
            DecoderLayerCache(selfAttention: $0.selfAttention.selectingBatch(indices, in: g),
                              crossAttention: $0.crossAttention.selectingBatch(indices, in: g))
        }
        return out
    }
}
