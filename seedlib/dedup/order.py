"""The keeper order: one total order over files, so exactly one representative per group is kept.

A file's key is a string that sorts (bytewise, in Spark and in Python alike) in keeper order:
configured repository criteria first (default: permissive licence, most stars, most forks, most recent
push), then repository id and path ascending as the final tie-breakers that make the order total.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping

from seedlib.dedup.settings import KEEP_CRITERIA, PERMISSIVE_LICENSES  # noqa: F401 (the one definition)

_BIG = 10**18


def check_criteria(criteria: Iterable[str], key: str = "dedup_keep_order") -> tuple[str, ...]:
    out = tuple(c.strip().lower() for c in criteria)
    bad = [c for c in out if c not in KEEP_CRITERIA]
    if bad:
        raise ValueError(f"{key}: unknown criterion {bad[0]!r}; expected some of {', '.join(KEEP_CRITERIA)}")
    return out


def _desc(value) -> str:
    """Larger first: an 18-digit complement (missing counts as 0)."""
    n = max(0, min(int(value or 0), _BIG - 1))
    return f"{_BIG - 1 - n:018d}"


def _epoch(value) -> int:
    """Seconds since 1970 of an ISO-8601 time (GitHub's `pushed_at`) or a number; missing counts as 0."""
    if not value:
        return 0
    if isinstance(value, (int, float)):
        return int(value)
    return int(dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp())


def repo_key(repo: str, meta: Mapping | None, criteria: tuple[str, ...],
             permissive: frozenset[str]) -> str:
    """The sortable key of a repository (its files' keys extend it with the path)."""
    meta = meta or {}
    parts = []
    for c in criteria:
        if c == "license":
            lic = (meta.get("license") or "").strip()
            parts.append("0" if lic.lower() in permissive else "1")
        elif c == "pushed":
            parts.append(_desc(_epoch(meta.get("pushed_at"))))
        else:
            parts.append(_desc(meta.get(c)))
    return "".join(parts) + "|" + repo + "\x00"


def file_key(rkey: str, path: str) -> str:
    return rkey + path


def permissive_set(licenses: Iterable[str]) -> frozenset[str]:
    return frozenset(s.strip().lower() for s in licenses)
