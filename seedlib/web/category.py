"""The site category of a web page (documentation, forum, blog, other, ecommerce) from its URL and structure.

The quality stage scores each category with its own prompt and threshold (issue 13, item 5), so a page
needs a category even when nothing about it is certain. `RULES` is a table read top to bottom; the first
rule that matches decides, and a page no rule matches is "other". The table is in four bands:

1. known sites: hosts whose every page is of one kind (stackoverflow.com, reddit.com, medium.com,
   *.readthedocs.io, developer.mozilla.org, amazon.*, ...);
2. what the page says it is: schema.org types (JSON-LD `@type` or microdata `itemtype` of the page's
   top-level items), og:type product, the generator that built it (Sphinx, MkDocs, rustdoc, Javadoc,
   Doxygen, pydoc, Discourse, ...), a run of API reference blocks (`<dl class="py function">`);
3. what the URL says: generic hosts and paths (docs.*, /docs/, /api/, /questions/, /t/<slug>/<id>, /blog/,
   /YYYY/MM/, /product/, /cart, ...), which a page's own structure in band 2 overrides;
4. weaker signals of the page: vote counts with an accepted answer, an add-to-cart button, og:type article
   or schema.org Article, blog software.

Pages on file:// URLs and on localhost (a pydoc server, http://localhost:7464/json.html) are judged by
structure only: their paths say nothing about a site. To add a rule, add one row in the band where its
certainty belongs: `Rule(category, why, test)`, where `test` gets a `Page` (url parts, and the parsed
structure, computed once on first use).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from typing import Callable
from urllib.parse import urlsplit

from resiliparse.parse.html import HTMLTree

from seedlib.web.settings import CATEGORIES

OTHER = "other"
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
_HEAD_CHARS = 20_000        # how much of the source `Page.head` looks at
_MAX_JSON_LD = 1_000_000    # characters of one JSON-LD script worth parsing (some pages embed megabytes)


@dataclasses.dataclass(frozen=True)
class Rule:
    """One row of the table: `test(page)` true means the page is of `category`; `why` says it in words."""

    category: str
    why: str
    test: Callable[["Page"], bool]
    url_only: bool = False      # a rule on the URL alone: not applied to local pages

    def __post_init__(self):
        if self.category not in CATEGORIES:
            raise ValueError(f"rule {self.why!r}: unknown category {self.category!r}; "
                             f"categories: {', '.join(CATEGORIES)}")


class Page:
    """A page as the rules see it: url parts, and structure signals parsed once on first use."""

    def __init__(self, url: str, html: str | HTMLTree):
        try:
            parts = urlsplit(url)
            scheme, host, path = parts.scheme, parts.hostname or "", parts.path
        except ValueError:  # e.g. an unclosed IPv6 bracket in a crawled url: judged by structure alone
            scheme, host, path = "", "", ""
        self.scheme = scheme.lower()
        self.host = host.lower().removeprefix("www.")
        self.path = path or "/"
        self.local = self.scheme == "file" or self.host in _LOCAL_HOSTS or self.host.endswith(".localhost")
        self._html = html

    @functools.cached_property
    def tree(self) -> HTMLTree | None:
        if isinstance(self._html, HTMLTree):
            return self._html
        try:
            return HTMLTree.parse(self._html)
        except Exception:  # noqa: BLE001 - unparsable crawled bytes: judged by the URL alone
            return None

    def select(self, selectors: str) -> list:
        """The elements matching CSS `selectors` (none when the page did not parse)."""
        tree = self.tree
        if tree is None or tree.document is None:
            return []
        return tree.document.query_selector_all(selectors).values()

    def has(self, selectors: str) -> bool:
        return bool(self.select(selectors))

    @functools.cached_property
    def title(self) -> str:
        tree = self.tree
        return ((tree.title if tree is not None else None) or "").strip()

    @functools.cached_property
    def types(self) -> frozenset[str]:
        """schema.org types of the page's top-level items: JSON-LD objects and their @graph members, and
        microdata items that are no other item's property (an Offer inside a Product is not the page)."""
        found: set[str] = set()
        for script in self.select('script[type="application/ld+json"]'):
            source = script.text_content or ""
            if len(source) > _MAX_JSON_LD:
                continue
            try:
                data = json.loads(source)
            except (ValueError, RecursionError):   # not JSON, or nested beyond the parser's stack
                continue
            for item in data if isinstance(data, list) else [data]:
                if isinstance(item, dict):
                    graph = item.get("@graph")
                    for member in ([item] + (graph if isinstance(graph, list) else [])):
                        if isinstance(member, dict):
                            found.update(_type_names(member.get("@type")))
        for node in self.select("[itemtype]"):
            if not node.hasattr("itemprop"):
                found.update(_type_names((node.getattr("itemtype") or "").split()))
        return frozenset(found)

    @functools.cached_property
    def generators(self) -> str:
        """The `<meta name="generator">` contents, lower-cased, one a line."""
        return "\n".join((m.getattr("content") or "").lower() for m in self.select("meta[name]")
                         if (m.getattr("name") or "").lower() == "generator")

    @functools.cached_property
    def head(self) -> str:
        """The start of the page's source, lower-cased, where generators also sign in comments
        (`<!-- Book generated using mdBook -->`, `<!-- Generated by javadoc -->`)."""
        if isinstance(self._html, str):
            return self._html[:_HEAD_CHARS].lower()
        tree = self.tree
        return (tree.head.html if tree is not None and tree.head is not None else "")[:_HEAD_CHARS].lower()

    def meta_property(self, name: str) -> str:
        return " ".join((m.getattr("content") or "").strip().lower()
                        for m in self.select(f'meta[property="{name}"]'))


def _type_names(value) -> list[str]:
    """'https://schema.org/BlogPosting', 'schema:Product' or ['Product', ...] -> bare type names."""
    values = value if isinstance(value, list) else [value]
    return [re.split(r"[/:#]", v.strip())[-1] for v in values if isinstance(v, str) and v.strip()]


# ---------- rule builders ----------

def hosts(*names: str) -> Callable[[Page], bool]:
    """The host is one of `names` or a subdomain of one; `amazon.*` is amazon.<any tld> itself only (the
    shop, not docs.aws.amazon.com)."""
    exact = tuple(n for n in names if not n.endswith(".*"))
    shops = "|".join(re.escape(n[:-2]) for n in names if n.endswith(".*"))
    any_tld = re.compile(rf"^({shops})\.[a-z]{{2,3}}(\.[a-z]{{2}})?$") if shops else None

    def test(page: Page) -> bool:
        h = page.host
        return (any(h == n or h.endswith("." + n) for n in exact)
                or (any_tld is not None and any_tld.match(h) is not None))
    return test


def host_matches(pattern: str) -> Callable[[Page], bool]:
    regex = re.compile(pattern)
    return lambda page: regex.search(page.host) is not None


def path_matches(pattern: str) -> Callable[[Page], bool]:
    regex = re.compile(pattern, re.IGNORECASE)
    return lambda page: regex.search(page.path) is not None


def types(*names: str) -> Callable[[Page], bool]:
    wanted = frozenset(names)
    return lambda page: bool(page.types & wanted)


def generator(*names: str) -> Callable[[Page], bool]:
    return lambda page: any(n in page.generators for n in names)


def signed(*phrases: str) -> Callable[[Page], bool]:
    """A comment near the top of the source says which tool generated the page."""
    regex = re.compile(r"<!--[^>]{0,40}(" + "|".join(re.escape(p.lower()) for p in phrases) + ")")
    return lambda page: regex.search(page.head) is not None


def selector(css: str, at_least: int = 1) -> Callable[[Page], bool]:
    return lambda page: len(page.select(css)) >= at_least


def _pydoc(page: Page) -> bool:
    """pydoc's pages (`python -m pydoc -w`, `-p PORT`): 'Python: module x' / 'Pydoc: ...' and its heading."""
    return (re.match(r"(Python|Pydoc): ", page.title) is not None
            and page.has("table.heading, tr.heading-text, .heading-text"))


def _add_to_cart(page: Page) -> bool:
    if page.has('[class*="add-to-cart"], [class*="add_to_cart"], [id*="add-to-cart"], [name="add-to-cart"], '
                'form[action*="/cart/add"]'):
        return True
    buttons = page.select('button, input[type="submit"], input[type="button"]')
    return any(re.search(r"\badd to (cart|basket|bag)\b",
                         ((b.text_content or "") + " " + (b.getattr("value") or "")).lower()) for b in buttons)


def _votes_and_accepted(page: Page) -> bool:
    return (page.has('[itemprop="upvoteCount"], [class*="vote-count"], [class*="votecount"]')
            and page.has('[itemprop="acceptedAnswer"], [class*="accepted-answer"], [class*="answer-accepted"]'))


_DOC_GENERATORS = ("sphinx", "docutils", "mkdocs", "rustdoc", "javadoc", "doxygen", "docbook", "gtk-doc",
                   "makeinfo", "texinfo", "docusaurus", "vuepress", "vitepress", "gitbook", "antora", "jsdoc")
_FORUM_GENERATORS = ("discourse", "vbulletin", "phpbb", "xenforo", "mybb", "flarum", "nodebb", "simple machines")
# Sphinx-style domain objects (`<dl class="py function">`), Doxygen members, Javadoc member signatures.
_API_BLOCKS = "dl.py, dl.c, dl.cpp, dl.js, dl.rst, dl.std, .memitem, .member-signature"

RULES: tuple[Rule, ...] = (
    # 1. known sites
    Rule("forum", "a Stack Exchange site", hosts("stackoverflow.com", "stackexchange.com", "superuser.com",
                                                 "serverfault.com", "askubuntu.com", "mathoverflow.net",
                                                 "stackapps.com"), url_only=True),
    Rule("forum", "a discussion site", hosts("reddit.com", "news.ycombinator.com", "quora.com",
                                             "lobste.rs"), url_only=True),
    Rule("forum", "GitHub issues and discussions",
         lambda p: p.host == "github.com" and re.match(r"/[^/]+/[^/]+/(issues|discussions|pull)/\d+", p.path)
         is not None, url_only=True),
    Rule("blog", "a blogging platform", hosts("medium.com", "dev.to", "hashnode.dev", "substack.com",
                                              "blogspot.com", "wordpress.com", "ghost.io", "hackernoon.com"),
         url_only=True),
    Rule("documentation", "a documentation site", hosts("readthedocs.io", "readthedocs.org", "rtfd.io",
                                                        "developer.mozilla.org", "docs.rs", "pkg.go.dev",
                                                        "cppreference.com", "devdocs.io", "learn.microsoft.com"),
         url_only=True),
    Rule("ecommerce", "a marketplace", hosts("amazon.*", "ebay.*", "etsy.com", "aliexpress.com", "walmart.com",
                                             "myshopify.com"), url_only=True),
    # 2. what the page says it is
    Rule("ecommerce", "schema.org Product or Offer", types("Product", "ProductGroup", "Offer", "AggregateOffer")),
    Rule("ecommerce", "og:type product", lambda p: "product" in p.meta_property("og:type").split()),
    Rule("forum", "schema.org QAPage or forum posting", types("QAPage", "DiscussionForumPosting", "Question")),
    Rule("documentation", "schema.org TechArticle or APIReference", types("TechArticle", "APIReference")),
    Rule("blog", "schema.org BlogPosting", types("BlogPosting", "Blog", "LiveBlogPosting")),
    Rule("documentation", "built by a documentation generator", generator(*_DOC_GENERATORS)),
    Rule("documentation", "signed by a documentation generator", signed("generated using mdbook",
                                                                          "generated by javadoc",
                                                                          "generated by doxygen")),
    Rule("documentation", "a documentation layout", selector("#apicontent, body.apidoc, .theme-doc-markdown")),
    Rule("documentation", "a Sphinx page", selector("script#documentation_options, "
                                                    'script[src*="documentation_options.js"], div.sphinxsidebar')),
    Rule("documentation", "a pydoc page", _pydoc),
    Rule("forum", "built by forum software", generator(*_FORUM_GENERATORS)),
    Rule("documentation", "API reference blocks", selector(_API_BLOCKS, at_least=3)),
    # 3. what the URL says
    Rule("documentation", "a docs host", host_matches(r"^(docs?|devdocs|api|reference|manual)\."),
         url_only=True),
    Rule("documentation", "a docs path",
         path_matches(r"/(docs?|documentation|api|apidocs|javadoc|reference|manual|man)(/|$)"), url_only=True),
    Rule("forum", "a forum host", host_matches(r"^(forums?|discourse|discuss|community|answers)\."),
         url_only=True),
    Rule("forum", "a forum path",
         path_matches(r"/(questions?/\d+|forums?/|threads?/|topics?/\d+|discussions?/|t/[^/]+/\d+(/|$)|"
                      r"showthread\.php|viewtopic\.php)"), url_only=True),
    Rule("blog", "a blog host", host_matches(r"^blogs?\."), url_only=True),
    Rule("blog", "a dated post on GitHub Pages",
         lambda p: p.host.endswith(".github.io") and re.search(r"(^|/)\d{4}[/-]\d{2}[/-]\d{2}", p.path) is not None,
         url_only=True),
    Rule("blog", "a blog path", path_matches(r"/(blogs?|posts?)/|/(19|20)\d{2}/(0[1-9]|1[0-2])/"), url_only=True),
    Rule("ecommerce", "a shop host", host_matches(r"^(shop|store)\."), url_only=True),
    Rule("ecommerce", "a shop path",
         path_matches(r"/(products?|shop|store|item|dp)/|/(cart|checkout|basket)(/|$)"), url_only=True),
    # 4. weaker signals of the page
    Rule("forum", "vote counts and an accepted answer", _votes_and_accepted),
    Rule("ecommerce", "an add-to-cart button", _add_to_cart),
    Rule("blog", "an article (og:type article, schema.org Article)",
         lambda p: "article" in p.meta_property("og:type").split()
         or bool(p.types & {"Article", "NewsArticle", "Report", "ScholarlyArticle"})),
    Rule("blog", "blog software", generator("wordpress", "ghost", "hexo", "blogger")),
)


def category(url: str, html: str | HTMLTree) -> str:
    """The page's category, one of seedlib.web.settings.CATEGORIES (the first matching rule's)."""
    return why(url, html)[0]


def why(url: str, html: str | HTMLTree) -> tuple[str, str]:
    """(category, the rule that decided it in words): for reports and for debugging a rule."""
    page = Page(url, html)
    for rule in RULES:
        if rule.url_only and page.local:
            continue
        if rule.test(page):
            return rule.category, rule.why
    return OTHER, "no rule matched"
