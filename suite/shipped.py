"""Where the folders the suite ships beside its code live: the recipes (models/) and the claims
(claims/, with ledger.json, what each claim measured).

The repository keeps them as top-level folders; the package installs them under import names
of their own (pyproject.toml maps memsuite_recipes -> models/, memsuite_claims -> claims/,
memsuite_fixtures -> fixtures/), so a non-editable `pip install` carries them and
`pytest --pyargs memsuite_claims` runs the shipped claims. This module finds the installed
package when there is one, and the checkout's folder otherwise.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
PACKAGES = {"models": "memsuite_recipes", "claims": "memsuite_claims"}


def folder(name: str) -> Path:
    """The shipped folder `name` ("models" or "claims")."""
    if name not in PACKAGES:
        raise KeyError(f"unknown shipped folder {name!r} (known: {', '.join(PACKAGES)})")
    local = CHECKOUT / name
    if (CHECKOUT / "pyproject.toml").is_file() and local.is_dir():
        return local  # a checkout (editable, or on the path): its own folder, not another's
    spec = importlib.util.find_spec(PACKAGES[name])
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"no {name}/ folder beside {CHECKOUT} and no installed "
                                f"{PACKAGES[name]} package: reinstall memsuite")
    return Path(list(spec.submodule_search_locations)[0])
