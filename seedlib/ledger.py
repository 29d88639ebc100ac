"""The `dropped` ledger: one row for every file a stage removed, and why.

Reasons are short snake_case words; `duplicate_of` is set only for duplicate reasons.
"""

from __future__ import annotations

import re

# Reasons the crawl records (later stages add their own, e.g. exact_duplicate, syntax_error, low_quality).
BINARY = "binary"
TOO_LARGE = "too_large"
UNDECODABLE = "undecodable"
UNDECODABLE_PATH = "undecodable_path"
LFS_POINTER = "lfs_pointer"
SYMLINK = "symlink"
SUBMODULE = "submodule"
UNREADABLE = "unreadable"
UNKNOWN_LANGUAGE = "unknown_language"
LANGUAGE_EXCLUDED = "language_excluded"
REPO_FILE_CAP = "repo_file_cap"
DUPLICATE_REASONS = frozenset({"exact_duplicate", "near_duplicate"})
# Reasons whose duplicate_of is set when a kept copy of the same file exists, else null: the files of a
# repository dropped as a (near) copy of another repository.
REPO_DUPLICATE = "repo_duplicate"
OPTIONAL_DUPLICATE_REASONS = frozenset({REPO_DUPLICATE})

_REASON = re.compile(r"^[a-z][a-z0-9_]*$")


def drop(repo: str, path: str, sha256: str | None, stage: str, reason: str,
         duplicate_of: str | None = None) -> dict:
    """One ledger row. Checks the reason's shape so a typo cannot create a new silent category."""
    if not _REASON.match(reason):
        raise ValueError(f"ledger reason must be snake_case, got {reason!r}")
    if reason not in OPTIONAL_DUPLICATE_REASONS and (duplicate_of is not None) != (reason in DUPLICATE_REASONS):
        raise ValueError(f"duplicate_of is required for duplicate reasons only (reason {reason!r})")
    return {"repo": repo, "path": path, "sha256": sha256, "stage": stage, "reason": reason,
            "duplicate_of": duplicate_of}
