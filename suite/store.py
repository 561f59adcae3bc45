"""The model store: trained models kept on disk, keyed by what determines them.

An entry's key hashes what determines its weights, as values (suite.train.key): the resolved
recipe, a digest of the generated data, the syntax of the training code the loop reaches, the
exact torch and transformers versions, and the device type and CPU thread count (which change the
order of float sums, so the same seed trains a slightly different model). An entry is a directory:

    config.json, model.safetensors   the final model (save_pretrained; GPT-2 or Llama family)
    tokenizer.json, tokenizer_config.json   the task's word-level tokenizer (suite.tokenizer;
                                     entries written before it have the suite's vocab.json)
    task.json                        the task spec the data is drawn from
    noisy.json                       the noisy training items and their injected labels
    recipe.json, metrics.json        what was trained, and the final numbers (see METRICS)
    curve.json                       the evaluation at every checkpoint
    checkpoints/step-NNNNNN.safetensors   weights at every evaluated step
    manifest.json                    sha256 of every other file, written last

Writes go to a temporary directory that is renamed into place, so an entry is complete or
absent. A file lock per key makes concurrent processes (pytest-xdist workers) train a model
once. An entry that fails its manifest is reported, removed and retrained, never loaded.
The store lives in $MEMSUITE_STORE, or ~/.cache/memsuite/models.

Models train and are judged on one device: $MEMSUITE_DEVICE (the run's --device), or cuda when
present, else cpu (`device()`).
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Iterable, Iterator

import torch
import transformers
from filelock import FileLock
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedModel
from transformers.utils import logging as hf_logging

from suite import tokenizer
from suite.train import curriculum, dynamics, key
from suite.train.key import strip_docstrings
from suite.train.recipes import ARCHS, Recipe
from suite.tasks import TaskData, Vocab, VocabMismatch, generate, spec_from_dict, spec_to_dict
from suite.train.loop import TrainResult, default_device, train
from suite.train.progress import bar_for



class CorruptEntry(RuntimeError):
    """A store entry whose files are missing or do not match its manifest."""


def device() -> torch.device:
    """Where models train and are judged: $MEMSUITE_DEVICE (set by --device), else cuda when
    present, else cpu. A device this machine lacks is an error that says so."""
    name = os.environ.get("MEMSUITE_DEVICE")
    if not name:
        return default_device()
    try:
        chosen = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r} is not a device name (cpu, cuda, cuda:1)") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {name}: this machine has no CUDA device (torch "
                         f"{torch.__version__})")
    if chosen.type not in ("cpu", "cuda"):
        raise ValueError(f"--device {name}: the suite trains and judges on cpu or cuda")
    return chosen


def store_root() -> Path:
    env = os.environ.get("MEMSUITE_STORE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "memsuite" / "models"


def _unchanged_since(path: Path) -> tuple[str, int, int, int]:
    """What identifies a file's content within one process without reading it: a rewrite changes
    its modification time (ns) or size, a replacement its inode."""
    st = path.stat()
    return (str(path), st.st_ino, st.st_size, st.st_mtime_ns)


# Per-process memos of what reading a file yields, keyed by _unchanged_since: every remembered
# verdict hashes the code it depends on (suite.remember, parsed sources) and every load verifies
# the entry's checksums (about 100 MB with checkpoints); a file that changes is read again.
_syntax: dict[tuple[str, int, int, int], bytes] = {}
_digests: dict[tuple[str, int, int, int], str] = {}


def _syntax_of(path: Path) -> bytes:
    mark = _unchanged_since(path)
    if mark not in _syntax:
        _syntax[mark] = ast.dump(strip_docstrings(ast.parse(path.read_text()))).encode()
    return _syntax[mark]


def source_version(folder: Path, files: Iterable[str]) -> str:
    """Hash of the given source files under `folder`, ignoring comments, docstrings and
    layout."""
    h = hashlib.sha256()
    for rel in files:
        h.update(rel.encode() + _syntax_of(folder / rel))
    return h.hexdigest()[:16]


def entry_key(recipe: Recipe) -> str:
    """The key of `recipe`'s model on this device and thread count (suite.train.key says what
    it hashes and why)."""
    return key.digest(key.key_content(recipe, device().type, torch.get_num_threads()))


def entry_name(recipe: Recipe) -> str:
    return f"{recipe.name}-s{recipe.task.seed}-n{recipe.task.noise:g}-{entry_key(recipe)}"


def _sha256(path: Path) -> str:
    mark = _unchanged_since(path)
    if mark not in _digests:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _digests[mark] = h.hexdigest()
    return _digests[mark]


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=1, sort_keys=False))


def final_metrics(result: TrainResult) -> dict[str, Any]:
    """The numbers saved as metrics.json: last evaluation, M_pre and its noisy_clean_share (noisy items answered with their clean label)."""
    curve = result.curve
    last = curve[-1]
    pre = dynamics.pre_memorization_step(curve)
    at_pre = dynamics.point_at(curve, pre) if pre is not None else {}
    data = result.data
    return {
        "steps": int(last["step"]),  # type: ignore[arg-type]
        "seconds": round(result.seconds, 2),
        "heldout_acc": last["heldout_acc"],
        "noisy_recall": last["noisy_recall"],
        "clean_train_acc": last["clean_train_acc"],
        "noisy_clean_share": last["noisy_clean_share"],
        "atomic_acc": last["atomic_acc"],
        "pre_memorization_step": pre,
        "heldout_acc_at_pre": at_pre.get("heldout_acc"),
        "noisy_recall_at_pre": at_pre.get("noisy_recall"),
        "noisy_clean_share_at_pre": at_pre.get("noisy_clean_share"),
        "n": {"clean": len(data.clean), "noisy": len(data.noisy), "heldout": len(data.heldout),
              "atomic": len(data.atomic)},
    }


def noisy_records(items: Any) -> list[dict[str, list[str]]]:
    """noisy.json's format: each noisy item's prompt, clean answer and trained label."""
    return [{"prompt": list(it.prompt), "clean": list(it.clean), "label": list(it.label)}
            for it in items]


def write_entry(result: TrainResult, recipe: Recipe, directory: Path) -> None:
    """Write every file of an entry into `directory` (which must be fresh), manifest last."""
    directory.mkdir(parents=True)
    hf_logging.disable_progress_bar()
    result.model.save_pretrained(directory, safe_serialization=True)
    tokenizer.save(result.data.vocab, directory)
    _write_json(directory / "task.json", spec_to_dict(recipe.task))
    _write_json(directory / "noisy.json", noisy_records(result.data.noisy))
    _write_json(directory / "recipe.json", recipe.to_dict())
    metrics = final_metrics(result)
    metrics.update({
        "recipe": recipe.name, "seed": recipe.task.seed, "noise": recipe.task.noise,
        "key": entry_key(recipe), "code": key.weights_code_digest(),
        "key_scheme": key.KEY_SCHEME, "device": result.device,
        "torch": torch.__version__, "transformers": transformers.__version__,
        "created_at": time.time(),
    })
    _write_json(directory / "metrics.json", metrics)
    _write_json(directory / "curve.json", result.curve)
    (directory / "checkpoints").mkdir()
    for step, state in result.checkpoints.items():
        # lm_head is tied to the token embedding (both families); safetensors refuses shared
        # tensors.
        state = {k: v.contiguous() for k, v in state.items() if k != "lm_head.weight"}
        save_file(state, directory / "checkpoints" / f"step-{step:06d}.safetensors")
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    _write_json(directory / "manifest.json",
                {str(p.relative_to(directory)): _sha256(p) for p in files})


def verify_entry(directory: Path) -> None:
    manifest_path = directory / "manifest.json"
    if not manifest_path.is_file():
        raise CorruptEntry(f"{directory}: no manifest.json (an incomplete or foreign entry)")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as err:
        raise CorruptEntry(f"{directory}: manifest.json is not valid JSON ({err})") from None
    for rel, digest in manifest.items():
        path = directory / rel
        if not path.is_file():
            raise CorruptEntry(f"{directory}: {rel} is missing")
        if _sha256(path) != digest:
            raise CorruptEntry(f"{directory}: {rel} does not match its checksum")
    for needed in ("config.json", "model.safetensors", "task.json", "curve.json",
                   "metrics.json", "recipe.json"):
        if needed not in manifest:
            raise CorruptEntry(f"{directory}: manifest does not list {needed}")
    if tokenizer.TOKENIZER_FILE not in manifest and tokenizer.LEGACY_VOCAB_FILE not in manifest:
        raise CorruptEntry(f"{directory}: manifest lists neither {tokenizer.TOKENIZER_FILE} nor "
                           f"{tokenizer.LEGACY_VOCAB_FILE}")


@dataclass(frozen=True)
class StoredModel:
    """A trained model on disk: a verified store entry, or a --model-dir laid out like one.

    Only config.json + weights, a tokenizer (or the suite's older vocab.json) and task.json are
    required; recipe.json, metrics.json,
    curve.json, noisy.json and checkpoints/ are read when present (claims that need them report
    a precondition when they are absent).
    """

    path: Path
    trained_seconds: float = 0.0  # training wall time in this process; 0 when loaded

    def _json(self, name: str, default: Any = None) -> Any:
        path = self.path / name
        if not path.is_file():
            return default
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise CorruptEntry(f"{path}: not valid JSON ({err})") from None

    @cached_property
    def task_spec(self) -> Any:
        spec = self._json("task.json")
        if spec is None:
            raise FileNotFoundError(f"{self.path}: no task.json (the task spec the model was "
                                    "trained on); see README, 'Judging your own model'")
        return spec_from_dict(spec)

    @cached_property
    def recipe(self) -> Recipe | None:
        d = self._json("recipe.json")
        return None if d is None else Recipe.from_dict(d)

    @property
    def name(self) -> str:
        return self.recipe.name if self.recipe else self.path.name

    @property
    def noise(self) -> float:
        """The label-noise rate the model was trained with: the recipe's for a store entry; for
        a model trained elsewhere, the share of training queries its noise list names (its
        task.json may say 0 when the noise was drawn outside the suite)."""
        if (self.path / "manifest.json").is_file() or not (self.path / "noisy.json").is_file():
            return float(self.task_spec.noise)
        data = self.data
        total = len(data.clean) + len(data.noisy)
        return len(data.noisy) / total if total else 0.0

    @property
    def arch(self) -> str:
        """The model family, config.json's model_type (gpt2, llama)."""
        return str(self._json("config.json", {}).get("model_type", ""))

    @property
    def key(self) -> str:
        return str(self.metrics.get("key") or self.path.name)

    @cached_property
    def content_digest(self) -> str:
        """Digest of the entry's manifest less its timings (metrics.json and curve.json carry
        wall-clock seconds): the weights, checkpoints, task and noise list it holds. Two trainings
        with the same key and the same weights give the same digest; other weights, another.
        "" for a directory without a manifest (a model from elsewhere)."""
        manifest = self._json("manifest.json")
        if not manifest:
            return ""
        kept = {k: v for k, v in manifest.items() if k not in ("metrics.json", "curve.json")}
        return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()[:16]

    @cached_property
    def metrics(self) -> dict[str, Any]:
        return self._json("metrics.json", {})

    @cached_property
    def curve(self) -> list[dict[str, float | None]]:
        return self._json("curve.json", [])

    @cached_property
    def vocab(self) -> Vocab:
        return tokenizer.read_vocab(self.path)

    @cached_property
    def data(self) -> TaskData:
        """The task data, regenerated from task.json and checked against the model's vocabulary.

        noisy.json, when present, lists the noisy training items and the labels they were
        trained on. A store entry's must equal the regenerated one. A model trained elsewhere
        (no manifest.json) may have drawn its own noise: its list then decides which training
        queries are noisy and with which labels (README, 'Judging your own model')."""
        data = generate(self.task_spec)
        data.vocab.check_matches(self.vocab, what=f"model in {self.path}")
        saved = self._json("noisy.json")
        if saved is None:
            return data
        if saved == noisy_records(data.noisy):
            return data
        if (self.path / "manifest.json").is_file():
            raise CorruptEntry(f"{self.path}: noisy.json differs from the task regenerated "
                               "from task.json (was the task code changed?)")
        return with_noise_list(data, saved, where=self.path / "noisy.json")

    def validate(self) -> None:
        """Check that the model can be judged on its task; raise a clear error if not."""
        config = self._json("config.json")
        if config is None:
            raise FileNotFoundError(f"{self.path}: no config.json (save the model with "
                                    "save_pretrained)")
        if config.get("model_type") not in ARCHS:  # the families hooks.FAMILIES maps
            raise ValueError(f"{self.path}: model_type is {config.get('model_type')!r}; the "
                             f"suite judges these model families: {', '.join(ARCHS)}")
        if config.get("vocab_size") != len(self.vocab):
            raise VocabMismatch(f"{self.path}: config.json has vocab_size "
                                f"{config.get('vocab_size')} but its tokenizer has "
                                f"{len(self.vocab)} tokens")
        self.data  # regenerates the task and compares vocabularies

    def model(self) -> PreTrainedModel:
        hf_logging.disable_progress_bar()  # a per-load progress bar drowns the suite's output
        model = AutoModelForCausalLM.from_pretrained(self.path)
        return model.to(device()).eval()

    @property
    def checkpoint_steps(self) -> list[int]:
        folder = self.path / "checkpoints"
        return sorted(int(p.stem.split("-")[1]) for p in folder.glob("step-*.safetensors"))

    def checkpoint(self, step: int) -> PreTrainedModel:
        """The model as it was at an evaluated step."""
        path = self.path / "checkpoints" / f"step-{step:06d}.safetensors"
        if not path.is_file():
            raise KeyError(f"no checkpoint at step {step} in {self.path}; "
                           f"steps: {self.checkpoint_steps}")
        model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(self.path))
        missing, unexpected = model.load_state_dict(load_file(path), strict=False)
        if unexpected or [k for k in missing if k != "lm_head.weight"]:
            raise CorruptEntry(f"{path}: does not fit the model (missing {missing}, "
                               f"unexpected {unexpected})")
        model.tie_weights()
        return model.to(device()).eval()


def with_noise_list(data: TaskData, noisy: Any, where: Path) -> TaskData:
    """`data` with its noisy split replaced by an explicit list of {"prompt", "label"} records
    (prompt and label as token lists; "clean" is optional and checked when given). Each prompt
    must be a training query of the task; its label must differ from the clean answer."""
    import dataclasses

    if not isinstance(noisy, list):
        raise ValueError(f"{where}: expected a list of {{'prompt': [...], 'label': [...]}}")
    queries = {it.prompt: it for it in data.clean + data.noisy}
    chosen: dict[tuple[str, ...], Any] = {}
    for number, record in enumerate(noisy):
        try:
            prompt, label = tuple(record["prompt"]), tuple(record["label"])
        except (TypeError, KeyError):
            raise ValueError(f"{where}: record {number} needs 'prompt' and 'label' token lists")
        item = queries.get(prompt)
        if item is None:
            raise ValueError(f"{where}: record {number}: prompt {' '.join(prompt)!r} is not a "
                             "training query of the task in task.json")
        if "clean" in record and tuple(record["clean"]) != item.clean:
            raise ValueError(f"{where}: record {number}: clean answer {record['clean']} differs "
                             f"from the task's {list(item.clean)}")
        if label == item.clean or len(label) != len(item.clean):
            raise ValueError(f"{where}: record {number}: label {list(label)} must differ from "
                             f"the clean answer {list(item.clean)} and have its length")
        unknown_tokens = [t for t in label if t not in set(data.vocab.tokens)]
        if unknown_tokens:
            raise VocabMismatch(f"{where}: record {number}: label tokens {unknown_tokens} are "
                                "not in the vocabulary")
        chosen[prompt] = dataclasses.replace(item, label=label, split="noisy")
    clean = tuple(dataclasses.replace(it, label=it.clean, split="clean")
                  for it in data.clean + data.noisy if it.prompt not in chosen)
    return dataclasses.replace(data, clean=clean, noisy=tuple(chosen.values()))


@contextlib.contextmanager
def _terminate_as_exception() -> Iterator[None]:
    """Turn SIGTERM into an exception while training, so cleanup in `finally` runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"terminated by signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _remove(path: Path) -> None:
    trash = path.with_name(f".trash-{path.name}-{os.getpid()}")
    os.rename(path, trash)  # atomic: the entry vanishes at once, deletion can take time
    shutil.rmtree(trash, ignore_errors=True)


def get_or_train(
    recipe: Recipe,
    root: Path | None = None,
    refresh_before: float | None = None,
    progress: bool = True,
) -> StoredModel:
    """The stored model for `recipe` (seed and noise already applied), training it if needed.

    refresh_before: retrain an existing entry created before this time (a Unix timestamp);
    --refresh-models passes the session's start, so parallel workers retrain a model once.
    """
    root = root or store_root()
    root.mkdir(parents=True, exist_ok=True)
    (root / ".locks").mkdir(exist_ok=True)
    (root / ".tmp").mkdir(exist_ok=True)
    name = entry_name(recipe)
    path = root / name
    with FileLock(str(root / ".locks" / f"{name}.lock")):
        for stale in (root / ".tmp").glob(f"{name}-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed writer
        if path.exists():
            try:
                verify_entry(path)
                created = json.loads((path / "metrics.json").read_text()).get("created_at", 0)
                if refresh_before is None or created >= refresh_before:
                    return StoredModel(path)
                _remove(path)
            except CorruptEntry as err:
                warnings.warn(f"corrupt store entry removed and retrained: {err}", stacklevel=2)
                print(f"memsuite: {err}; retraining", file=sys.stderr)
                _remove(path)
        tmp = root / ".tmp" / f"{name}-{os.getpid()}"
        try:
            with _terminate_as_exception():
                if recipe.train.first_stage is not None:
                    result = curriculum.train_after_first_stage(
                        recipe, device=device(),
                        progress_for=(lambda r: bar_for(r).update) if progress else None)
                else:
                    result = train(recipe, device=device(),
                                   progress=bar_for(recipe).update if progress else None)
                write_entry(result, recipe, tmp)
                os.rename(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return StoredModel(path, trained_seconds=result.seconds)


def install_entry(name: str, files: dict[str, bytes], root: Path | None = None) -> StoredModel:
    """Install an entry trained elsewhere (`files`: its relative paths and bytes, as shipped by
    a worker that does not share this store) under `name`, atomically and under the entry's
    lock; an entry already stored and intact is kept. The files must match their own manifest."""
    root = root or store_root()
    for sub in ("", ".locks", ".tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name or ""):
        raise CorruptEntry(f"{name!r} is not a store entry's name")
    path = root / name
    bad = [rel for rel in files if Path(rel).is_absolute() or ".." in Path(rel).parts]
    if bad or not files:
        raise CorruptEntry(f"{name}: a shipped entry with no files or files outside itself: {bad}")
    with FileLock(str(root / ".locks" / f"{name}.lock")):
        if path.exists():
            try:
                verify_entry(path)
                return StoredModel(path)
            except CorruptEntry:
                _remove(path)
        tmp = root / ".tmp" / f"{name}-{os.getpid()}-shipped"
        try:
            for rel, data in files.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                (tmp / rel).write_bytes(data)
            verify_entry(tmp)
            os.rename(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return StoredModel(path)


def entries(root: Path | None = None) -> list[StoredModel]:
    root = root or store_root()
    if not root.is_dir():
        return []
    return [StoredModel(p) for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(".")]
