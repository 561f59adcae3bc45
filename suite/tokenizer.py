"""A task's vocabulary as a real Hugging Face tokenizer, saved beside every model.

The tasks speak in whitespace-separated word tokens ("1 2 3 4 + 5 6 7 8 =", "e12 r3 r7"), so
the tokenizer is a word-level model over the task vocabulary (the `tokenizers` library), with
ids equal to the suite's own (id 0 is the pad token). Saved with save_pretrained it is
tokenizer.json + tokenizer_config.json, which `AutoTokenizer.from_pretrained(dir)` loads, so a
stored model can be tried with `generate` and decoded without reading the suite's code.

Reading a model directory's vocabulary (`read_vocab`) takes, in order: tokenizer.json (any
word-level tokenizer whose ids cover 0..n-1 without gaps: the suite's own or one a user built
for the task); the suite's older vocab.json ({"tokens": [...]}, entries written before the
tokenizer was saved). The task then checks it token by token (Vocab.check_matches), so a
tokenizer that orders the tokens differently is a named error, not a silent misreading.
GPT-2 tokenizers also write a vocab.json (a {token: id} map); found without a tokenizer.json
it is reported as what it is.
"""

from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from suite.tasks import PAD, Vocab, VocabMismatch

TOKENIZER_FILE = "tokenizer.json"
LEGACY_VOCAB_FILE = "vocab.json"  # the suite's vocabulary file before tokenizers were saved


def build(vocab: Vocab) -> PreTrainedTokenizerFast:
    """The word-level tokenizer of `vocab`: same ids, whitespace-split input, pad declared."""
    model = models.WordLevel({token: i for i, token in enumerate(vocab.tokens)}, unk_token=None)
    tokenizer = Tokenizer(model)
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token=PAD)


def save(vocab: Vocab, directory: Path) -> None:
    """Write the tokenizer of `vocab` into `directory` (tokenizer.json, tokenizer_config.json)."""
    build(vocab).save_pretrained(str(directory))


def read_vocab(directory: Path) -> Vocab:
    """The vocabulary a model directory declares (see the module docstring for the order)."""
    tokenizer_path = directory / TOKENIZER_FILE
    if tokenizer_path.is_file():
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as err:  # noqa: BLE001 - the library raises a bare Exception
            raise VocabMismatch(f"{tokenizer_path}: not a readable tokenizer ({err})") from None
        by_id = {i: token for token, i in tokenizer.get_vocab(with_added_tokens=True).items()}
        if sorted(by_id) != list(range(len(by_id))):
            raise VocabMismatch(f"{tokenizer_path}: token ids are not 0..{len(by_id) - 1} without "
                                "gaps, so they cannot be the task's vocabulary")
        try:
            return Vocab(tuple(by_id[i] for i in range(len(by_id))))
        except ValueError as err:
            raise VocabMismatch(f"{tokenizer_path}: {err}") from None
    legacy = directory / LEGACY_VOCAB_FILE
    if legacy.is_file():
        try:
            content = json.loads(legacy.read_text())
        except json.JSONDecodeError as err:
            raise VocabMismatch(f"{legacy}: not valid JSON ({err})") from None
        if isinstance(content, dict) and isinstance(content.get("tokens"), list):
            return Vocab(tuple(content["tokens"]))
        raise VocabMismatch(
            f"{legacy} is a tokenizer's {{token: id}} map (as GPT-2 tokenizers write), not the "
            f"suite's vocabulary, and there is no {TOKENIZER_FILE}: save the task's tokenizer "
            "with save_pretrained (suite.tokenizer.build(vocab)); see README, 'Judging your own "
            "model'")
    raise FileNotFoundError(f"{directory}: no {TOKENIZER_FILE} (the model's tokenizer, saved "
                            f"with save_pretrained) and no {LEGACY_VOCAB_FILE}")
