// Tokenizers: see ../shared/DESIGN.md for what this target owns.
