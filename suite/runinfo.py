"""The run header of a results directory (run.json): what produced these verdicts, so a lab can
keep results and tell, months later, which code, packages and machine gave them."""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

PACKAGES = ("memsuite", "torch", "transformers", "tokenizers", "safetensors", "numpy", "scipy",
            "pytest", "hypothesis")


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _git_commit(folder: Path) -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=folder, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def header(argv: Sequence[str], seeds: Sequence[int] | None = None,
           extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Suite version and git commit, package versions, device, threads, seeds, date, command."""
    import torch

    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "command": list(argv),
        "git_commit": _git_commit(Path(__file__).resolve().parent),
        "packages": {name: _version(name) for name in PACKAGES},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "cpu_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "seeds": list(seeds) if seeds is not None else None,
        "executable": sys.executable,
        **(extra or {}),
    }
