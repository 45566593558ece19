// Training: optimizers, objectives, stage loops and checkpoints (docs/architecture.md).
