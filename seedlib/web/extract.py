"""Main text of an HTML page, with its code blocks byte for byte in their place (issue 13, item 2).

The main content comes from Resiliparse's rule-based extractor (`extract_plain_text(main_content=True)`:
fast, and it drops navigation, headers, footers, cookie banners and sidebars by tag, role and class
names). That extractor collapses whitespace inside code and sees highlighter markup (line-number gutters,
token spans, copy buttons) as text, so code blocks never go through it:

1. find the code blocks: highlighter tables with a line-number column (Pygments `highlighttable`, Rouge,
   Hugo/Chroma `lntable`, highlight.js line numbers, GitHub's file view), rendered SyntaxHighlighter
   `div.syntaxhighlighter`, every `<pre>` (which covers Pygments `div.highlight`, GitHub
   `highlight-source-*`, highlight.js `hljs`, Prism `language-*`, Rouge, `<pre class="brush: ...">`,
   Docusaurus), and a multi-line `<code>` that is the whole content of its block; the outermost one wins;
2. take each block's exact text (`code_text`): text nodes as the parser decoded them (entities such as
   `&lt;` become `<`), `<br>` as a newline, a line break between block elements (a table's rows, a
   highlighter's `div.line`s), line-number gutters, buttons, scripts and styles left out;
3. replace each block by a placeholder paragraph, extract the main content, and put each block's text
   back where its placeholder came out. Nothing is added around a block: the text is stored as it is.

A placeholder the extractor dropped is put back when the block lies inside the main content: between the
first and the last line of the main text in the full page's text, and not inside `<nav>`, `<aside>`,
`<footer>` or an element whose ARIA role says navigation, banner, footer or sidebar; it goes right after the
main text's line that precedes it on the page. Resiliparse drops a `<ul>` less than four levels below
<body> or with many links (it takes such lists for navigation), any container whose class looks like
boilerplate (`hidden`, `share`, `...-meta`) and every hidden element; yet the steps of a simple page's
tutorial are often such a `<ul>` of `<pre>` commands, and the other languages of a tabbed example hidden
panels (sphinx-tabs: `hidden="true"`). Code the author put in the middle of the article is content even
when its container's markup looks like boilerplate. A block before or after the main content (a sidebar's snippet,
a footer's install line) stays dropped with the rest of the boilerplate.

A page is `boilerplate` when the main content has (almost) nothing (fewer than ALMOST_NOTHING words) while
the page had more text: the extractor removed at least ALMOST_NOTHING words of navigation, banners and
footers. A page with no text at all (only scripts, or one the parser could not handle) is not boilerplate
but simply too short. `verdict` turns that and the word rule into the ledger's reason.
"""

from __future__ import annotations

import bisect
import dataclasses
import logging
import re

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import ELEMENT, TEXT, HTMLTree, Node

log = logging.getLogger(__name__)

BOILERPLATE, TOO_FEW_WORDS = "boilerplate", "too_few_words"   # ledger reasons (seedlib/ledger.py REASONS)
ALMOST_NOTHING = 3          # main text with fewer words than this is "(almost) nothing"
MAX_DEPTH = 512             # elements deeper than this are flattened to their text, as browsers cap the DOM

# What the extractor keeps: no form values; comments and post metadata kept (a forum's answers are often
# marked up as comments). Image alt texts stay in: alt_texts=False makes Resiliparse skip whole <figure>
# elements, and books (mdBook) and docs put their code listings in figures.
_OPTIONS = dict(preserve_formatting=True, list_bullets=True, alt_texts=True, links=False, form_fields=False,
                noscript=False, comments=True, post_meta=True, hidden_elements=False)
# Highlighter tables whose cells hold line numbers and code (recognised by the table's class, or by a
# gutter cell of its own).
_CODE_TABLES = frozenset({"highlighttable", "rouge-table", "lntable", "hljs-ln", "syntaxhighlighter"})
_GUTTER_CELLS = "td.linenos, td.gutter, td.rouge-gutter, td.hljs-ln-numbers, td.blob-num"
# Inside a code block: line numbers (Pygments linenos/linenodiv, SyntaxHighlighter and Rouge gutters,
# highlight.js line numbers, Prism line-numbers-rows, GitHub blob-num, Chroma lnt/ln, rustdoc
# src-line-numbers) and toolbars; elements marked data-nosnippet (rustdoc's inline line numbers).
_SKIP_CLASSES = frozenset({"linenos", "lineno", "linenodiv", "gutter", "rouge-gutter", "hljs-ln-numbers",
                           "line-numbers-rows", "blob-num", "lnt", "ln", "src-line-numbers", "toolbar"})
_SKIP_TAGS = frozenset({"button", "script", "style", "template", "svg", "noscript"})
# Elements whose end is a line break in rendered text (innerText's rule, for rows and highlighter lines).
_LINE_TAGS = frozenset({"address", "article", "blockquote", "dd", "div", "dl", "dt", "figure", "h1", "h2",
                        "h3", "h4", "h5", "h6", "li", "ol", "p", "pre", "section", "table", "tbody", "thead",
                        "tfoot", "tr", "ul"})
# A block without any of these is its text_content exactly (the parser's native, fast path).
_NEEDS_WALK = ", ".join(sorted(_SKIP_TAGS | _LINE_TAGS | {"br", "[data-nosnippet]"})
                        + sorted(f".{c}" for c in _SKIP_CLASSES))
# A <pre> of line numbers beside the code's own <pre> is not code: removed from the page.
_LINE_NUMBER_PRES = "pre.src-line-numbers, pre.lineno, pre.linenos, pre.line-numbers-rows"
# Containers whose code is boilerplate even inside the main content's span.
_BOILERPLATE_CONTAINERS = ("nav, aside, footer, [role=navigation], [role=banner], [role=contentinfo], "
                           "[role=complementary]")


@dataclasses.dataclass(frozen=True)
class Extracted:
    """What the ingest stage keeps of one page."""

    text: str                 # main text, code blocks byte for byte in place
    title: str | None         # <title> as browsers show it (stripped, spaces collapsed); None when empty
    has_code_tags: bool       # the page has a <pre> or <code> element or a highlighter block
    words: int                # word_count(text)
    code_blocks: int          # code blocks found on the page (kept or not)
    boilerplate: bool         # no main content although the page has text


def word_count(text: str) -> int:
    """Whitespace-separated words: the report's "under 10 words" rule counts these."""
    return len(text.split())


def verdict(extracted: Extracted, min_words: int) -> str | None:
    """The ledger reason that drops the page, or None when it is kept."""
    if extracted.boilerplate:
        return BOILERPLATE
    if extracted.words < min_words:
        return TOO_FEW_WORDS
    return None


def extract(html: str, url: str) -> Extracted:
    """Main text of one page. Never raises: a page the parser or the extractor cannot handle has no text,
    so the caller drops it as too short (logged with its url)."""
    try:
        return _extract(html)
    except Exception as e:  # noqa: BLE001 - any failure on crawled bytes is that page's problem, not the task's
        log.warning("%s: cannot extract text: %s: %s", url, type(e).__name__, e)
        return Extracted(text="", title=None, has_code_tags=False, words=0, code_blocks=0, boilerplate=False)


def _extract(html: str) -> Extracted:
    tree = HTMLTree.parse(html)
    title = (tree.title or "").strip() or None
    if tree.body is None:
        return Extracted(text="", title=title, has_code_tags=False, words=0, code_blocks=0, boilerplate=False)
    _flatten_deep(tree)
    for node in tree.body.query_selector_all(_LINE_NUMBER_PRES).values():
        node.decompose()
    blocks, has_code_tags = code_blocks(tree)
    marker = _marker(html, tree)
    placeholders = []
    texts = []
    for i, node in enumerate(blocks):
        texts.append(code_text(node))
        p = tree.create_element("p")
        p.text_content = f"{marker}{i}x"
        node.replace_with(p)
        placeholders.append(p)
    token = re.compile(re.escape(marker) + r"(\d+)x")
    main = extract_plain_text(tree, main_content=True, **_OPTIONS)
    full = None
    dropped = set(range(len(blocks))) - {int(i) for i in token.findall(main)}
    if dropped:
        full = extract_plain_text(tree, main_content=False, **_OPTIONS)
        wanted = {f"{marker}{i}x" for i in dropped if placeholders[i].closest(_BOILERPLATE_CONTAINERS) is None}
        main = _put_back(main, full, wanted, token)

    def fill(text: str) -> str:
        return token.sub(lambda m: texts[int(m.group(1))], text)

    text = fill(main)
    words = word_count(text)
    boilerplate = False
    if words < ALMOST_NOTHING:
        if full is None:
            full = extract_plain_text(tree, main_content=False, **_OPTIONS)
        boilerplate = word_count(fill(full)) >= words + ALMOST_NOTHING
    return Extracted(text=text, title=title, has_code_tags=has_code_tags, words=words,
                     code_blocks=len(blocks), boilerplate=boilerplate)


def _marker(html: str, tree: HTMLTree) -> str:
    """A placeholder prefix that the page contains neither in its source nor in its text (entities
    decoded); deterministic."""
    text = tree.body.text_content or ""
    marker = "seedcodeblock"
    while marker in html or marker in text:
        marker += "q"
    return marker


def _flatten_deep(tree: HTMLTree) -> None:
    """Replace each element MAX_DEPTH levels deep by its text: the main-content extractor's time grows
    with the square of the depth (minutes for 100,000 nested tags), and no real page nests this deep
    (Chromium's parser caps the DOM at 512 levels)."""
    for node in tree.document.query_selector_all("html" + " > *" * MAX_DEPTH).values():
        node.replace_with(tree.create_text_node(node.text_content or ""))


def code_blocks(tree: HTMLTree) -> tuple[list[Node], bool]:
    """(the outermost code blocks in page order, whether the page has any <pre>/<code>/highlighter block)."""
    blocks: list[Node] = []
    has_code_tags = False
    # .values(): iterating resiliparse's node lists directly takes time quadratic in their length.
    for node in tree.body.query_selector_all("table, div.syntaxhighlighter, pre, code").values():
        tag = node.tag
        has_code_tags = has_code_tags or tag in ("pre", "code")
        if blocks and blocks[-1].contains(node):
            continue    # in page order, a block inside an earlier block is inside the last one taken
        if tag == "table":
            block = _is_code_table(node)
        elif tag == "code":
            block = _is_block_code(node)
        else:
            block = True
        if block:
            blocks.append(node)
    return blocks, has_code_tags or bool(blocks)


def _classes(node: Node) -> set[str]:
    value = node.getattr("class")
    return set(value.split()) if value else set()


def _is_code_table(table: Node) -> bool:
    if _classes(table) & _CODE_TABLES:
        return True
    return any(cell.closest("table") == table for cell in table.query_selector_all(_GUTTER_CELLS).values())


def _is_block_code(code: Node) -> bool:
    """A <code> outside <pre> is a block when it has several lines and is all of its parent's text
    (`<p><code>line 1\\nline 2</code></p>`); inside prose it stays inline, as the extractor renders it."""
    own = (code.text_content or "").strip()
    parent = code.parent
    return "\n" in own and parent is not None and (parent.text_content or "").strip() == own


def code_text(block: Node) -> str:
    """The text of a code block as the page shows it: decoded text nodes, <br> and line breaks between
    block elements (table rows, highlighter line divs) as newlines, gutters and buttons left out."""
    if block.query_selector(_NEEDS_WALK) is None:
        return block.text_content or ""
    out: list[str] = []
    pending = False     # a line break is owed before the next text (innerText's "required line break")
    stack: list[tuple[Node, bool]] = [(child, True) for child in reversed(block.child_nodes.values())]
    while stack:
        node, entering = stack.pop()
        if not entering:
            pending = True
            continue
        kind = node.type
        if kind == TEXT:
            value = node.text_content or ""
            if value:
                if pending and out and not out[-1].endswith("\n"):
                    out.append("\n")
                pending = False
                out.append(value)
        elif kind == ELEMENT:
            tag = node.tag
            if tag in _SKIP_TAGS or _classes(node) & _SKIP_CLASSES or node.hasattr("data-nosnippet"):
                continue
            if tag == "br":
                out.append("\n")
                pending = False
                continue
            if tag in _LINE_TAGS:
                pending = pending or bool(out)
                stack.append((node, False))
            stack.extend((child, True) for child in reversed(node.child_nodes.values()))
    return "".join(out)


def _put_back(main: str, full: str, wanted: set[str], token: re.Pattern) -> str:
    """Put the placeholders `wanted` back into the main text when they lie between its first and last line
    in the full page's text, each after the main text's line that precedes it there."""
    full_lines = full.split("\n")
    at: dict[str, list[int]] = {}
    for i, line in enumerate(full_lines):
        if line.strip():
            at.setdefault(line, []).append(i)
    # Main lines matched, in order, to full-text lines (the main text is the full text minus boilerplate).
    matched_full: list[int] = []
    matched_main: list[int] = []
    main_lines = main.split("\n")
    pos = -1
    for j, line in enumerate(main_lines):
        where = at.get(line) if line.strip() else None
        if where:
            k = bisect.bisect_right(where, pos)
            if k < len(where):
                pos = where[k]
                matched_full.append(pos)
                matched_main.append(j)
    if not matched_full:
        return main
    after: dict[int, list[str]] = {}
    for i in range(matched_full[0] + 1, matched_full[-1]):
        for placeholder in token.finditer(full_lines[i]):
            if placeholder.group(0) in wanted:
                k = bisect.bisect_left(matched_full, i) - 1
                after.setdefault(matched_main[k], []).append(placeholder.group(0))
    out: list[str] = []
    for j, line in enumerate(main_lines):
        out.append(line)
        for placeholder in after.get(j, ()):
            out.extend(("", placeholder))
    return "\n".join(out)
