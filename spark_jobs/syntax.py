"""Spark entrypoint of the syntax stage: the files kept by the previous stage, input part by input part,
through `seedlib.syntax.make_filter` (minimal rules, then tree-sitter; one parser per grammar per task)."""

from __future__ import annotations

import sys

from seedlib.spark import filter_stage, run_stage
from seedlib.syntax import make_filter

body = filter_stage("syntax", make_filter)

if __name__ == "__main__":
    sys.exit(run_stage("syntax", body))
