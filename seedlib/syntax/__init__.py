"""The syntax stage: minimal rules and the tree-sitter check (see filter.py, rules.py, check.py).

The filter's names load on first use, so that importing seedlib.syntax.settings (as seedlib/config.py
does) does not load tree-sitter and pyarrow.
"""

__all__ = ["make_filter", "SyntaxFilter", "SYNTAX_ERROR", "PARSE_TOO_LARGE", "PARSE_TIMEOUT", "RATIO_COLUMN"]


def __getattr__(name: str):
    if name in __all__:
        from seedlib.syntax import filter as _filter

        return getattr(_filter, name)
    raise AttributeError(f"module 'seedlib.syntax' has no attribute {name!r}")
