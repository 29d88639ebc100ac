"""The dedup stages' configuration sections (exact_dedup, near_dedup) and their constants.

- `dedup`       what both stages share: deduplicate against published snapshots, the exact key, the keeper order
- `repo_dedup`  repository-level near dedup (in exact_dedup)
- `near_dedup`  file-level MinHash + LSH near dedup
"""

from __future__ import annotations

import dataclasses

from seedlib.sections import Section, SectionError, key

KEEP_CRITERIA = ("license", "stars", "forks", "pushed")
EXACT_HASHES = ("raw", "whitespace")
# SPDX ids counted as permissive by the keeper order's `license` criterion (the one list: order.py uses it).
PERMISSIVE_LICENSES = ("MIT", "MIT-0", "Apache-2.0", "BSD-2-Clause", "BSD-3-Clause", "ISC", "Unlicense", "0BSD",
                       "Zlib", "CC0-1.0", "BSL-1.0", "PSF-2.0", "Python-2.0", "Unicode-DFS-2016")


def _threshold(name: str, value: float) -> None:
    if value > 1:
        raise SectionError(name, f"expected a Jaccard threshold in [0, 1], got {value}")


@dataclasses.dataclass(frozen=True)
class DedupSection(Section):
    """Shared by exact_dedup and near_dedup: which copy is kept, and against what."""

    against_published: bool = key(True, "also drop files that duplicate files published by earlier snapshots (the "
                                         "dedup index in their manifests), so each snapshot holds only what is "
                                         "new; false makes every snapshot self-contained")
    exact_hash: str = key("raw", "exact dedup key: raw (SHA-256 of the bytes) or whitespace (of the contents with "
                                 "whitespace runs collapsed)")
    keep_order: tuple[str, ...] = key(KEEP_CRITERIA, "which copy is kept: repository criteria in order (license = "
                                                     "permissive first, stars, forks, pushed = most recent), then "
                                                     "repo and path ascending")
    permissive_licenses: tuple[str, ...] = key(PERMISSIVE_LICENSES, "SPDX ids counted as permissive "
                                                                    "(case-insensitive)")
    driver_files: int = key(500_000, "up to this many files (this run's plus the published index's), exact_dedup's "
                                     "and near_dedup's decisions are made on the Spark driver (numpy and scipy, "
                                     "~200 bytes a file plus near_dedup_num_perm x 4 for a signature; the same "
                                     "result) instead of as tens of small Spark jobs; 0 = always on Spark")

    def validate(self) -> None:
        if self.driver_files < 0:
            raise SectionError("driver_files", f"expected 0 or more, got {self.driver_files}")
        if self.exact_hash not in EXACT_HASHES:
            raise SectionError("exact_hash", f"expected {' or '.join(EXACT_HASHES)}, got {self.exact_hash!r}")
        bad = [c for c in self.keep_order if c not in KEEP_CRITERIA]
        if bad:
            raise SectionError("keep_order", f"unknown criterion {bad[0]!r}; known: {', '.join(KEEP_CRITERIA)}")


@dataclasses.dataclass(frozen=True)
class RepoDedupSection(Section):
    """Repositories whose sets of file hashes are near-identical: all but the best are dropped as repo_duplicate."""

    threshold: float = key(0.85, "Jaccard threshold over repositories' sets of file hashes for repo_duplicate; "
                                 "0 disables")
    min_files: int = key(5, "repositories with fewer distinct files are not compared for repository-level near "
                            "dedup")

    def validate(self) -> None:
        _threshold("threshold", self.threshold)


@dataclasses.dataclass(frozen=True)
class NearDedupSection(Section):
    """MinHash signatures, LSH buckets, verified pairs and connected components over files."""

    shingle: int = key(5, "words per MinHash shingle (1-8)")
    num_perm: int = key(256, "MinHash permutations (also used by repo_dedup)")
    threshold: float = key(0.7, "Jaccard threshold of near duplicates (LSH bands x rows are derived from it); "
                                "0 disables")
    max_bucket: int = key(100, "LSH buckets with more members link each member to the best one only (never "
                               "gathered into one task)")
    max_component: int = key(10_000, "in larger components only files similar to the keeper itself are dropped")
    driver_edges: int = key(5_000_000, "up to this many verified pairs, connected components are computed on "
                                       "the Spark driver (scipy, 16 bytes a pair; same result) instead of as "
                                       "rounds of Spark jobs; 0 = always on Spark")

    def validate(self) -> None:
        if not 1 <= self.shingle <= 8:
            raise SectionError("shingle", f"expected 1..8 words, got {self.shingle}")
        if self.num_perm < 16:
            raise SectionError("num_perm", f"expected at least 16, got {self.num_perm}")
        _threshold("threshold", self.threshold)
        if self.max_bucket < 2:
            raise SectionError("max_bucket", f"expected at least 2, got {self.max_bucket}")
