"""The syntax stage's per-file filter: minimal rules, then the tree-sitter check.

`make_filter(config)` runs once per Spark partition (so parsers are built once per worker task and reused
for every file) and returns `decide(table) -> (kept, dropped, details)` for `seedlib.stage.filter_parts`:

- kept     the input rows that passed, with `syntax_error_ratio` (float64; null for unparsed languages)
- dropped  ledger rows: a rule's reason, `parse_too_large`, `parse_timeout` or `syntax_error`
- details  {"unparsed": {language: n}}: kept files of languages without a grammar (not syntax-checked)
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pyarrow as pa

from seedlib.languages import grammar_of
from seedlib.ledger import drop
from seedlib.syntax import check as syntax
from seedlib.syntax import macros
from seedlib.syntax.rules import first_rule

if TYPE_CHECKING:
    from seedlib.config import Config

STAGE = "syntax"
SYNTAX_ERROR = "syntax_error"
PARSE_TOO_LARGE = "parse_too_large"
PARSE_TIMEOUT = "parse_timeout"
RATIO_COLUMN = "syntax_error_ratio"


def thresholds(config: Config):
    """language -> max error ratio: the per-language overrides, else `syntax_max_error_ratio`."""
    by_language = {name.lower(): value for name, value in config.syntax.error_ratio_by_language}
    default = config.syntax.max_error_ratio
    return lambda lang: by_language.get((lang or "").lower(), default)


class SyntaxFilter:
    """Decides one file at a time; holds one parser per grammar for its whole life."""

    def __init__(self, config: Config, pool: syntax.ParserPool | None = None):
        self.config = config
        self.pool = pool or syntax.ParserPool()
        self.max_ratio = thresholds(config)
        self.rules = tuple(config.syntax.rules)
        self.timeout_s = config.syntax.parse_timeout_ms / 1000

    def decide_one(self, path: str, lang: str | None, text: str) -> tuple[str | None, float | None]:
        """(drop reason or None, error ratio or None when not parsed)."""
        reason = first_rule(text, lang, self.config, self.rules) if self.rules else None
        if reason:
            return reason, None
        grammar = grammar_of(lang, path)
        if grammar is None:
            return None, None
        parser, source = self.pool.get(grammar), text.encode("utf-8")
        result = syntax.check(parser, source, self.config.syntax.max_parse_bytes, self.timeout_s)
        if result.outcome == syntax.TOO_LARGE:
            return PARSE_TOO_LARGE, None
        if result.outcome == syntax.TIMEOUT:
            return PARSE_TIMEOUT, None
        ratio, limit = result.error_ratio, self.max_ratio(lang)
        if ratio > limit and grammar in macros.GRAMMARS:  # second chance: unexpanded macros blanked out
            masked = syntax.check(parser, macros.mask(source), self.config.syntax.max_parse_bytes, self.timeout_s)
            if masked.outcome == syntax.OK:
                ratio = min(ratio, masked.error_ratio)
        if ratio > limit:
            return SYNTAX_ERROR, ratio
        return None, ratio

    def __call__(self, table: pa.Table) -> tuple[pa.Table, list[dict], dict[str, dict[str, int]]]:
        paths = table.column("path").to_pylist()
        langs = table.column("lang").to_pylist()
        contents = table.column("content").to_pylist()
        keep, ratios, dropped = [], [], []
        unparsed: Counter[str] = Counter()
        for i, (path, lang, text) in enumerate(zip(paths, langs, contents)):
            reason, ratio = self.decide_one(path, lang, text or "")
            if reason:
                dropped.append(drop(table.column("repo")[i].as_py(), path, table.column("sha256")[i].as_py(),
                                    STAGE, reason))
                continue
            keep.append(i)
            ratios.append(ratio)
            if ratio is None:
                unparsed[lang or "unknown"] += 1
        kept = table.take(pa.array(keep, pa.int64()))
        if RATIO_COLUMN in kept.column_names:  # a rerun over already-checked files: replace, don't duplicate
            kept = kept.drop_columns([RATIO_COLUMN])
        kept = kept.append_column(RATIO_COLUMN, pa.array(ratios, pa.float64()))
        return kept, dropped, ({"unparsed": dict(sorted(unparsed.items()))} if unparsed else {})


def make_filter(config: Config) -> SyntaxFilter:
    """Build the filter for one partition (parsers are created lazily, once per grammar)."""
    return SyntaxFilter(config)


__all__ = ["make_filter", "SyntaxFilter", "thresholds"]
