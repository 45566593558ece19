import Models
import NN

extension Transformer {
    /// `scoreTargets` of the base model: a frozen reference that is this same model with its
    /// adapters bypassed (one copy of the base weights), or a separate model as it is.
    public func baseScoreTargets(_ batch: SequenceBatch, temperature: Float = 1) -> [Float] {
        withLoRADisabled { scoreTargets(batch, temperature: temperature) }
    }
}

extension ScalarModel {
    /// `sequenceScores` with the trunk's adapters bypassed: PPO's frozen reward model when it
    /// shares its trunk with the value model's LoRA adapters (one copy of the base weights).
    public func baseSequenceScores(_ batch: SequenceBatch) -> [Float] {
        trunk.withLoRADisabled { sequenceScores(batch) }
    }
}
