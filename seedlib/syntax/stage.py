"""The syntax stage's body: the files kept so far, input part by input part, through `make_filter`
(minimal rules, then tree-sitter; one parser per grammar per task)."""

from __future__ import annotations

from seedlib.spark import filter_stage
from seedlib.syntax import make_filter

body = filter_stage(make_filter)
