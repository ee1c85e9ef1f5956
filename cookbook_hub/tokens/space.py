"""Token spaces: the vocabularies that templates draw random tokens from.

A token space is an ordered list of distinct word-like strings. Its identity (name, size and the
sha256 of its token list) is recorded with every generated dataset, because the same recipe over
another token space is another dataset.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from cookbook_hub.errors import TokenSpaceError

DEFAULT_NAME = "default"
DEFAULT_FILE = "default_tokens.txt"
MIN_TOKENS = 64


@dataclass(frozen=True)
class TokenSpaceIdentity:
    """What makes two token spaces the same: recorded in every card and recipe."""

    name: str
    size: int
    sha256: str

    def as_dict(self) -> dict[str, str | int]:
        """Return the identity as a plain dict (for JSON, YAML and dataset metadata)."""
        return {"name": self.name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, eq=False)
class TokenSpace:
    """An ordered, duplicate-free list of word-like tokens to sample from."""

    name: str
    tokens: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.tokens)) != len(self.tokens):
            raise TokenSpaceError(f"token space {self.name!r} has duplicate tokens", fix="deduplicate it")
        spaced = next((t for t in self.tokens if len(t.split()) != 1 or t != t.strip()), None)
        if spaced is not None:  # rows store tokens joined by single spaces
            raise TokenSpaceError(
                f"token space {self.name!r} has an empty token or one with whitespace: {spaced!r}",
                fix="write one token per line, without spaces",
            )
        if len(self.tokens) < MIN_TOKENS:
            raise TokenSpaceError(
                f"token space {self.name!r} has {len(self.tokens)} usable tokens, fewer than {MIN_TOKENS}",
                fix="use a larger vocabulary or relax --min-length/--max-length",
            )

    def __len__(self) -> int:
        return len(self.tokens)

    @cached_property
    def identity(self) -> TokenSpaceIdentity:
        """Name, size and sha256 of the newline-joined token list."""
        digest = hashlib.sha256("\n".join(self.tokens).encode("utf-8")).hexdigest()
        return TokenSpaceIdentity(self.name, len(self.tokens), digest)

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> TokenSpace:
        """Read a token list: one token per line, in order."""
        path = Path(path)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise TokenSpaceError(f"cannot read token list {str(path)!r}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise TokenSpaceError(
                f"token list {str(path)!r} is not UTF-8 text ({exc.reason} at byte {exc.start})",
                fix="save it as UTF-8, one token per line",
            ) from exc
        return cls(name or path.stem, tuple(t for t in lines if t))

    @classmethod
    def from_tokenizer(
        cls,
        path: str | Path,
        *,
        min_length: int = 2,
        max_length: int = 12,
        gguf_file: str | None = None,
        name: str | None = None,
    ) -> TokenSpace:
        """Build a token space from a local Hugging Face tokenizer (folder, or GGUF file in a folder).

        Keeps the decoded vocabulary entries that are word-like (see `word_like_tokens`).
        """
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise TokenSpaceError(
                "token spaces from a tokenizer need transformers",
                fix="pip install 'cookbook-hub[tokenizers]'",
            ) from exc
        path = Path(path)
        if not path.exists():
            raise TokenSpaceError(f"tokenizer path {str(path)!r} does not exist", fix="pass a local folder")
        kwargs = {"gguf_file": gguf_file} if gguf_file else {}
        try:
            tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True, **kwargs)
        except Exception as exc:  # transformers raises many types here
            raise TokenSpaceError(
                f"{str(path)!r} is not a loadable tokenizer: {exc.__class__.__name__}: {exc}",
                fix="point --token-space at a folder with tokenizer.json or tokenizer_config.json",
            ) from exc
        special = set(tok.all_special_ids)
        ids = [i for i in range(len(tok)) if i not in special]
        decoded = tok.batch_decode([[i] for i in ids])
        tokens = word_like_tokens(decoded, min_length=min_length, max_length=max_length)
        label = name or (f"{path.name}/{gguf_file}" if gguf_file else path.name)
        if len(tokens) < MIN_TOKENS:
            raise TokenSpaceError(
                f"tokenizer {str(path)!r} has {len(tokens)} word-like tokens of length "
                f"{min_length}-{max_length}, fewer than the {MIN_TOKENS} needed",
                fix="use a larger vocabulary or relax --min-length/--max-length",
            )
        return cls(f"{label}[{min_length}-{max_length}]", tuple(tokens))


def word_like_tokens(decoded: Iterable[str], *, min_length: int = 2, max_length: int = 12) -> list[str]:
    """Filter decoded vocabulary entries to word-like tokens, sorted and deduplicated.

    Kept: after stripping surrounding whitespace, letters only (any script), printable, no U+FFFD
    (a partial UTF-8 sequence decodes to it), no combining marks at the start, and a length within
    [min_length, max_length].
    """
    if min_length < 1 or max_length < min_length:
        raise TokenSpaceError(
            f"invalid token length range min_length={min_length}, max_length={max_length}",
            fix="use 1 <= min_length <= max_length",
        )
    keep = set()
    for text in decoded:
        word = unicodedata.normalize("NFC", text.strip())  # check the form that is kept
        if (
            min_length <= len(word) <= max_length
            and word.isalpha()
            and word.isprintable()
            and "\ufffd" not in word
            and not unicodedata.combining(word[0])
        ):
            keep.add(word)
    return sorted(keep)


def default_token_space() -> TokenSpace:
    """The embedded token space: word-like tokens of SmolLM2's tokenizer (Apache-2.0), no download."""
    text = resources.files("cookbook_hub.tokens").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")
    return TokenSpace(DEFAULT_NAME, tuple(text.splitlines()))


def resolve_token_space(spec: str | Path | TokenSpace | None) -> TokenSpace:
    """Turn a CLI/recipe token-space value into a TokenSpace.

    Accepted: None or "default" (embedded), a `.txt` token list, a tokenizer folder, or a
    `.gguf` file (its folder is loaded with `gguf_file=`).
    """
    if isinstance(spec, TokenSpace):
        return spec
    if spec is None or str(spec) == DEFAULT_NAME:
        return _cached_default()
    if not str(spec).strip():
        raise TokenSpaceError(
            "empty token space", fix="use 'default', a tokenizer folder, a .gguf file or a .txt token list"
        )
    path = Path(spec)
    try:
        found = path.exists()
    except (OSError, ValueError):  # a name too long for the filesystem, a NUL byte
        found = False
    if not found:
        raise TokenSpaceError(
            f"unknown token space {str(spec)!r}: not 'default' and no such path",
            fix="use 'default', a tokenizer folder, a .gguf file or a .txt token list",
        )
    if path.is_file() and path.suffix == ".txt":
        return TokenSpace.from_file(path)
    if path.is_file() and path.suffix == ".gguf":
        return TokenSpace.from_tokenizer(path.parent, gguf_file=path.name)
    return TokenSpace.from_tokenizer(path)


_DEFAULT: list[TokenSpace] = []


def _cached_default() -> TokenSpace:
    if not _DEFAULT:
        _DEFAULT.append(default_token_space())
    return _DEFAULT[0]
