"""The embedded default sources: real code with real duplicates, available with no network.

This project's own git repository, plus the installed source folders of a few Python packages that pip
vendors copies of (pip/_vendor holds requests, urllib3, packaging, idna, certifi, rich, ...), so the
dedup stages find genuine exact and near duplicates between the originals and pip's vendored copies.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

VENDORED_PACKAGES = ("pip", "requests", "urllib3", "packaging", "idna", "certifi", "rich", "tenacity")


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def default_specs() -> list[str]:
    specs = []
    root = project_root()
    if (root / ".git").exists():
        specs.append(str(root))
    for name in VENDORED_PACKAGES:
        spec = importlib.util.find_spec(name)  # locates the package without importing it
        if spec and spec.submodule_search_locations:
            specs.append(str(Path(list(spec.submodule_search_locations)[0]).resolve()))
    return specs
