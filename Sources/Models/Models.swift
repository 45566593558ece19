// Models: the transformer families, generation, n-gram models and checkpoint I/O (docs/architecture.md).
