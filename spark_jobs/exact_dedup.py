"""Spark entrypoint of the exact_dedup stage: repository-level (identical or near-identical sets of file
hashes) and file-level (SHA-256) exact dedup, keeping one copy per group by the keeper order
(seedlib/dedup/plan.py)."""

from __future__ import annotations

import sys

from seedlib.dedup.plan import exact_body
from seedlib.spark import run_stage

if __name__ == "__main__":
    sys.exit(run_stage("exact_dedup", exact_body))
