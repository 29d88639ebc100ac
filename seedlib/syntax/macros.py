"""A second reading of C-family sources with unexpanded macros blanked out.

tree-sitter parses C and C++ without a preprocessor, so valid code full of annotation macros reads as
errors: `extern int atoi (const char *) __THROW __attribute_pure__ __wur;`,
`namespace std _GLIBCXX_VISIBILITY(default) {`, `class Q_CORE_EXPORT QString {`, a lone `__BEGIN_DECLS`,
or a `#if 0` block of pseudo-code. `mask` replaces such macro uses (and the bodies of `#if 0` blocks)
with spaces (as are the bodies of `#ifdef __cplusplus` blocks that only open or close an
`extern "C" {`), keeping every byte offset, so the error share stays comparable.

The syntax check uses the masked reading only as a second chance (the smaller error share of the two
counts): masking can hide a real error only where the text already looks like a macro annotation, and it
can never turn a file that parses into one that does not.
"""

from __future__ import annotations

import re

# Grammars whose sources go through the C preprocessor (see seedlib/languages.py).
GRAMMARS = frozenset({"c", "cpp", "cuda", "objc"})

# Macro-like names: reserved (`__x`, `_X`) or all upper case, two characters or more (`QT_EXPORT`, `WINAPI`);
# the word boundaries keep the patterns linear (a name can never be split into two).
_NAME = rb"\b(?:__\w+|_[A-Z]\w*|[A-Z][A-Z0-9_]+)\b"
_UPPER = rb"\b_{0,2}[A-Z][A-Z0-9_]+\b"
_ARGS = rb"(?:[ \t]*\((?:[^()\n]|\((?:[^()]|\([^()]*\))*\))*\))?"
_RUN = rb"(?:[ \t\r\n]*" + _NAME + _ARGS + rb")+"
_UPPER_RUN = rb"(?:[ \t\r\n]*" + _UPPER + _ARGS + rb")+"
_KEYWORDS = frozenset(b"""return case goto sizeof typedef struct union enum class namespace new delete throw
    if else while for do switch default public private protected operator template typename using
    void char short int long float double signed unsigned bool const volatile auto""".split())
_TAG_BEFORE = re.compile(rb"\b(?:struct|union|enum|class)[ \t]+$")

# 1. annotation runs after a declarator's `)` or `]` (any macro-like name), or after a name or `>` (upper
#    case only: `__nptr` there is a parameter), before `;` `{` `,` `=` or `:`
_END = rb"(?=[ \t\r\n]*[;{,=:])"
_AFTER_PAREN = re.compile(rb"[)\]](" + _RUN + rb")" + _END)
_AFTER_NAME = re.compile(rb"(\b\w+|>)(" + _UPPER_RUN + rb")" + _END)
# 2. an export/visibility macro between `class`/`struct`/`union`/`enum` and the type's name
_TAGGED = re.compile(rb"\b(?:class|struct|union|enum)[ \t]+(" + _NAME + _ARGS + rb")(?=[ \t]+\w)")
# 3. a line that is nothing but macro uses (`__BEGIN_DECLS`, `Q_OBJECT`, `G_DEFINE_TYPE (A, a, B)`)
_ALONE = re.compile(rb"^[ \t]*(" + _NAME + _ARGS + rb"(?:[ \t]+" + _NAME + _ARGS + rb")*)[ \t]*;?[ \t]*$", re.M)
# 4. leading storage/linkage macros before a declaration: `extern GL_APICALL void GL_APIENTRY glFoo (`
_LEADING = re.compile(rb"(?<![\w)])(" + _NAME + rb")(?=[ \t]+(?:[A-Za-z_]\w*[ \t*&]+)*\**[A-Za-z_]\w*[ \t]*\()")
_IF0 = re.compile(rb"^[ \t]*#[ \t]*if[ \t]+0\b.*$", re.M)
_IFCPP = re.compile(rb"^[ \t]*#[ \t]*(?:ifdef[ \t]+__cplusplus|if[ \t]+defined[ \t]*\(?[ \t]*__cplusplus[ \t]*\)?)[ \t]*$",
                    re.M)
_COND = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|else|elif|endif)\b", re.M)


def _blank(data: bytearray, start: int, end: int) -> None:
    for i in range(start, end):
        if data[i] not in (10, 13):  # keep line breaks: line-based measures stay aligned
            data[i] = 32


def _block_end(source: bytes, start: int) -> int:
    """Where the conditional block opened just before `start` ends (its #else/#elif/#endif at depth 0)."""
    depth = 0
    for c in _COND.finditer(source, start):
        word = c.group(1)
        if word.startswith(b"if"):
            depth += 1
        elif depth:
            depth -= word == b"endif"
        else:
            return c.start()
    return len(source)


def _mask_blocks(source: bytes, out: bytearray) -> None:
    """Blank the bodies of `#if 0` blocks, and of `#ifdef __cplusplus` blocks whose braces do not balance
    (`extern "C" {` in one block, its `}` in another: fine for a compiler, a lost brace for tree-sitter)."""
    for m in _IF0.finditer(source):
        _blank(out, m.end(), _block_end(source, m.end()))
    for m in _IFCPP.finditer(source):
        end = _block_end(source, m.end())
        body = source[m.end():end]
        if body.count(b"{") != body.count(b"}"):
            _blank(out, m.end(), end)


def mask(source: bytes) -> bytes:
    """`source` with macro annotations and `#if 0` bodies replaced by spaces (same length)."""
    out = bytearray(source)
    _mask_blocks(source, out)
    for m in _AFTER_NAME.finditer(source):  # not a typedef name: `typedef struct s S;`, `typedef int T;`
        if m.group(1) not in _KEYWORDS and not _TAG_BEFORE.search(source, max(0, m.start() - 40), m.start()):
            _blank(out, m.start(2), m.end(2))
    for pattern in (_AFTER_PAREN, _TAGGED, _ALONE, _LEADING):
        for m in pattern.finditer(source):
            _blank(out, m.start(1), m.end(1))
    return bytes(out)
