"""Token spaces (a tokenizer's vocabulary or the embedded default) and the counter-based sampling streams."""
