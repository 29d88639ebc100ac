"""The syntax stage: minimal rules and the tree-sitter check (see filter.py, rules.py, check.py)."""

from seedlib.syntax.filter import (PARSE_TIMEOUT, PARSE_TOO_LARGE, RATIO_COLUMN, SYNTAX_ERROR, SyntaxFilter,
                                   make_filter)

__all__ = ["make_filter", "SyntaxFilter", "SYNTAX_ERROR", "PARSE_TOO_LARGE", "PARSE_TIMEOUT", "RATIO_COLUMN"]
