"""The tree-sitter syntax check: parse one file and measure how much of it the grammar could not place.

The measure is the *share of bytes* inside ERROR and MISSING nodes, not `has_error`: valid macro-heavy
C/C++ (unexpanded macros, `__attribute__` soup, X-macros) almost always contains some small ERROR node, so
"any error" rejects good code, while a broken file (truncated, a bracket lost, the wrong language) has a
sizeable share of its bytes in error regions.

- ERROR nodes: the bytes of each *outermost* ERROR node (nested ones are inside it, never counted twice).
- MISSING nodes are zero-width tokens tree-sitter invented to recover (a `)` or `;` that is not there);
  each one counts as the bytes of the line it sits on, so a lost bracket is not invisible.

The walk descends only into children whose `has_error` is set, so a clean tree costs one flag read.

Parsing is bounded: files over a size cap are not parsed, and a parse that runs past its time budget is
cancelled through tree-sitter's progress callback (0.25+ removed `Parser.timeout_micros`). A cancelled
parser must be `reset()` before it parses again, or it resumes the old document.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tree_sitter import Parser

# Outcomes of `check`
OK = "ok"
TOO_LARGE = "too_large"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class SyntaxResult:
    outcome: str                # OK, TOO_LARGE or TIMEOUT
    error_ratio: float | None   # share of bytes in ERROR/MISSING regions (None unless OK)
    has_error: bool = False     # tree-sitter's own flag, kept for comparison in benchmarks


class ParserPool:
    """One tree-sitter parser per grammar, created on first use and reused (one pool per worker)."""

    def __init__(self) -> None:
        self._parsers: dict[str, Parser] = {}

    def get(self, grammar: str) -> Parser:
        parser = self._parsers.get(grammar)
        if parser is None:
            from tree_sitter_language_pack import get_parser

            parser = self._parsers[grammar] = get_parser(grammar)
        return parser


def error_bytes(root, source: bytes) -> int:
    """Bytes inside outermost ERROR nodes, plus the line of each MISSING node, capped at len(source)."""
    if not root.has_error:
        return 0
    total = 0
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error:
            total += node.end_byte - node.start_byte
            continue
        if node.is_missing:
            at = node.start_byte
            start = source.rfind(b"\n", 0, at) + 1
            end = source.find(b"\n", at)
            total += max(1, (len(source) if end < 0 else end) - start)
            continue
        stack.extend(child for child in node.children if child.has_error)
    return min(total, len(source))


def error_ratio(root, source: bytes) -> float:
    return error_bytes(root, source) / len(source) if source else 0.0


def parse(parser: Parser, source: bytes, timeout_s: float):
    """Parse with a wall-clock budget; returns the tree, or None when the budget ran out."""
    view = memoryview(source)
    deadline = time.monotonic() + timeout_s

    def read(offset: int, _point) -> memoryview:
        return view[offset:]

    def cancel(_offset: int, _has_error: bool) -> bool:
        return time.monotonic() > deadline

    try:
        return parser.parse(read, progress_callback=cancel)
    except ValueError:  # "Parsing failed": the progress callback cancelled it
        parser.reset()
        return None


def check(parser: Parser, source: bytes, max_bytes: int, timeout_s: float) -> SyntaxResult:
    """Parse one file (UTF-8 bytes) within the size cap and time budget and measure its error share."""
    if len(source) > max_bytes:
        return SyntaxResult(TOO_LARGE, None)
    tree = parse(parser, source, timeout_s)
    if tree is None:
        return SyntaxResult(TIMEOUT, None)
    root = tree.root_node
    return SyntaxResult(OK, error_ratio(root, source), root.has_error)
