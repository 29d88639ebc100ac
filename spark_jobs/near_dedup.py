"""Spark entrypoint of the near_dedup stage: file-level MinHash LSH with verified candidate pairs and
distributed connected components; the best file of each component is kept (seedlib/dedup/plan.py)."""

from __future__ import annotations

import sys

from seedlib.dedup.plan import near_body
from seedlib.spark import run_stage

if __name__ == "__main__":
    sys.exit(run_stage("near_dedup", near_body))
