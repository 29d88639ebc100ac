"""The syntax stage's configuration section and the names of its minimal rules (seedlib/syntax/rules.py)."""

from __future__ import annotations

import dataclasses

from seedlib.sections import Section, SectionError, key

AUTO_GENERATED = "auto_generated"
ENCODED_DATA = "encoded_data"
MINIFIED = "minified"
DATA_LITERALS = "data_literals"
RULE_ORDER = (AUTO_GENERATED, ENCODED_DATA, MINIFIED, DATA_LITERALS)  # first match names the reason


@dataclasses.dataclass(frozen=True)
class SyntaxSection(Section):
    """Minimal rules before parsing, then the share of bytes in tree-sitter ERROR/MISSING regions."""

    max_error_ratio: float = key(0.001, "files whose share of bytes in tree-sitter ERROR/MISSING regions exceeds "
                                        "this are dropped as syntax_error")
    error_ratio_by_language: tuple[tuple[str, float], ...] = key(
        (("C", 0.25), ("C++", 0.25), ("CUDA", 0.25)),
        "per-language overrides of syntax_max_error_ratio (LANG=RATIO,...; replaces the default list)")
    max_parse_bytes: int = key(500_000, "larger files of a parsed language are dropped as parse_too_large")
    parse_timeout_ms: int = key(5_000, "a parse running longer is cancelled and the file dropped as parse_timeout")
    rules: tuple[str, ...] = key(RULE_ORDER, "minimal rules applied before parsing (empty = none)")
    max_line_chars: int = key(1_000, "a longer line makes a file minified")
    max_mean_line_chars: int = key(100, "a higher mean line length makes a file minified")
    max_encoded_run: int = key(1_024, "a longer base64/hex run makes a file encoded_data")
    max_encoded_share: float = key(0.5, "a larger share of characters in base64/hex runs (>= 64 chars) makes a "
                                        "file encoded_data")
    max_data_share: float = key(0.5, "a larger share of bytes on literal-only lines makes a code file "
                                     "data_literals")

    def validate(self) -> None:
        unknown = sorted(set(self.rules) - set(RULE_ORDER))
        if unknown:
            raise SectionError("rules", f"unknown rule {unknown[0]!r}; known: {', '.join(sorted(RULE_ORDER))}")
        self.positive(self, "parse_timeout_ms")
