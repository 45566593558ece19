import NN

extension Transformer {
    /// Holds every matrix (projections, embeddings, head) of a model that only runs forward — a
    /// frozen reference or reward model — as bf16 only: half their memory. Products then run
    /// through the bf16 matmul (fp32 accumulation), as they do under `--precision bf16` anyway;
    /// norms and biases stay fp32. The model can no longer train or be copied exactly.
    public func holdFrozenWeightsInBF16() {
        for p in parameters where p.shape.count == 2 { p.holdInBF16Only() }
    }
}
