"""The embedded default input of `seed web` (no --warc): WARC files built from HTML this machine already has.

`default_warcs(home)` builds them once, under `home/web/<hash of the inputs>/`, and returns their paths;
a later call whose inputs did not change finds them there (the inputs are names, versions, file sizes and
modification times, and the hashes of the project's own docs, so the check reads no page). Nothing is
downloaded and nothing found on disk is executed. What goes in, in this order:

1. `pydoc`: the HTML pages `pydoc -b` serves, as Python's own pydoc renders them (`pydoc.html.page` of
   `pydoc.html.document`), at the URLs it serves them from (`http://localhost:7464/<module>.html`):
   - the modules in `STDLIB_MODULES`, a fixed list of standard-library modules (each renders in about 0.1 s
     or less; slow ones such as urllib.request or xml.dom.minidom are left out, and so are those whose page
     shows the state of the process: sys, os, time, logging, warnings, tempfile, mimetypes, hashlib's set);
   - the modules in `PACKAGE_MODULES`, fixed modules of packages that requirements.txt pins, each only when
     its distribution is installed (checked with importlib.metadata, before anything is imported);
   - the language reference topics and keywords of `pydoc -b` (`topic?key=...`, the text of
     pydoc_data.topics in a <pre>, one page per distinct topic).
   Only these modules are imported, never a module found on disk. Documentation pages: module pages carry
   their code examples in pydoc's `<span class="code">` (no <pre>), topic pages in a <pre>.
2. `share-doc`: the `*.html` / `*.htm` files under `<sys.prefix>/share/doc`, `<sys.base_prefix>/share/doc`
   and `/usr/share/doc` (whichever exist; symbolic links are not followed), at most `SHARE_DOC_MAX_BYTES`
   each, taken in turn from each package's folder (at most `SHARE_DOC_PER_PACKAGE` from one) up to
   `SHARE_DOC_CAP` pages, at their file:// URLs, served as `text/html` without a charset (their own
   <meta> says it). A fresh Debian has few or none; this machine's list varies with what is installed.
3. `project`: this project's README.md and docs/*.md rendered to HTML with markdown-it-py (the CommonMark
   renderer rich depends on; skipped when it is not installed) inside a blog-like page (site header,
   <article>, footer), fenced code as <pre><code>, at the .md file's file:// URL; and `licences`: the
   licence texts of the venv's installed distributions (`*.dist-info/LICEN[CS]E*`, `COPYING*`, also under
   `licenses/`), one page each, paragraphs in <p> (no <pre>): plain prose, not code-related, the negatives
   a recall classifier needs. Identical texts are kept once; at most `LICENCE_CAP` pages.

The WARCs: `<source>-NNN.warc.gz`, at most `PAGES_PER_WARC` pages each, a warcinfo record first and a
request and a response record per page (Common Crawl's layout), each record its own gzip member, dated
`seedlib.web.warc.DATE`, record ids uuid5 of the url and the page's index: the same inputs give the same
bytes, whatever the process did before (checked with other hash seeds, time zones and logging levels): in
pydoc's pages an object repr's memory address is written `at 0x0` and a logger's repr has no level.
`sources.json` beside them records what was used: pages, skipped items and WARC files per source, and the
inputs' hash.
"""

from __future__ import annotations

import hashlib
import html
import importlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import sys
import sysconfig
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from seedlib.sources.defaults import project_root
from seedlib.web.warc import http_response, page_records, record_uuid, warcinfo, write_warc

__all__ = ["default_warcs", "STDLIB_MODULES", "PACKAGE_MODULES"]

BUILD = 1  # bump when what a source produces changes, so that caches built before are not reused
PYDOC_URL = "http://localhost:7464/"  # where `pydoc -b` serves (its default port)
SHARE_DOC_PER_PACKAGE = 20
SHARE_DOC_CAP = 150
SHARE_DOC_MAX_BYTES = 1_000_000
LICENCE_CAP = 120
PAGES_PER_WARC = 100
MANIFEST = "sources.json"

# Standard-library modules whose pydoc pages render quickly (measured: under 0.1 s each on 2 cores).
STDLIB_MODULES = (
    "abc", "argparse", "asyncio.base_events", "asyncio.events", "asyncio.futures", "asyncio.locks",
    "asyncio.queues", "asyncio.streams", "asyncio.tasks", "base64", "bisect", "bz2", "calendar", "cmath", "cmd",
    "codecs", "collections.abc", "colorsys", "concurrent.futures", "contextlib", "contextvars", "copy", "csv",
    "dataclasses", "datetime", "difflib", "doctest", "email.parser", "email.utils", "filecmp", "fileinput",
    "fnmatch", "fractions", "functools", "getopt", "gettext", "glob", "graphlib", "gzip", "heapq", "hmac",
    "html", "html.parser", "http.cookies", "importlib", "itertools", "json", "json.decoder", "json.encoder",
    "keyword", "locale", "logging.config", "lzma", "math", "numbers", "operator", "os.path", "pickle",
    "pkgutil", "platform", "poplib", "pprint", "profile", "pstats", "queue", "quopri", "random", "re",
    "reprlib", "sched", "secrets", "selectors", "shelve", "shlex", "shutil", "smtplib", "stat", "statistics",
    "string", "struct", "subprocess", "symtable", "textwrap", "timeit", "tokenize", "tomllib", "trace",
    "traceback", "unittest.mock", "uuid", "wave", "zipimport", "zlib",
)
# (distribution, module): modules of packages requirements.txt pins, documented when installed.
PACKAGE_MODULES = (
    ("PyYAML", "yaml"), ("tree-sitter", "tree_sitter"), ("gguf", "gguf"), ("bm25s", "bm25s"),
    ("boto3", "boto3"), ("pyarrow", "pyarrow.fs"), ("pyarrow", "pyarrow.parquet"), ("FastWARC", "fastwarc"),
    ("Resiliparse", "resiliparse.parse.encoding"),
)
_ADDRESS = re.compile(r"(\s|&nbsp;)at(\s|&nbsp;)0x[0-9a-fA-F]+")
_LOGGER_LEVEL = re.compile(r"(&lt;(?:Root)?Logger[^&<]*?)(?:\s|&nbsp;)"
                           r"\((?:NOTSET|DEBUG|INFO|WARNING|ERROR|CRITICAL|Level \d+)\)(&gt;)")


@dataclass(frozen=True)
class _Page:
    url: str
    body: bytes
    content_type: str


# ---------------------------------------------------------------------------------------------- pydoc


def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _pydoc_modules() -> list[str]:
    packages = [module for dist, module in PACKAGE_MODULES if _installed(dist)]
    return list(STDLIB_MODULES) + packages


def _pydoc_page(name: str) -> bytes | None:
    import pydoc

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = importlib.import_module(name)
            page = pydoc.html.page(pydoc.describe(module), pydoc.html.document(module, name))
    except Exception:  # a module that does not import or render here is left out (counted)
        return None
    # what depends on the process rather than on the module: object addresses, loggers' levels
    page = _LOGGER_LEVEL.sub(r"\1\2", _ADDRESS.sub(r"\1at\g<2>0x0", page))
    return page.encode("utf-8")


def _topics() -> dict[str, tuple[str, str]]:
    """pydoc's topic pages: {label: (the first keyword or topic name that leads to it, its xrefs)}."""
    import pydoc

    try:
        import pydoc_data.topics
    except ImportError:
        return {}
    names = {**pydoc.Helper.keywords, **pydoc.Helper.topics}
    out: dict[str, tuple[str, str]] = {}
    for name in sorted(names):
        target, hops = names[name], 0
        while isinstance(target, str) and target in names and hops < 5:  # an alias of another name
            target, hops = names[target], hops + 1
        if not isinstance(target, tuple):
            continue
        label, xrefs = target
        if label in pydoc_data.topics.topics and label not in out:
            out[label] = (name, xrefs)
    return out


def _topic_page(label: str, name: str, xrefs: str) -> bytes:
    """A topic page as `pydoc -b` lays it out (heading, the text in a <pre>, related topics)."""
    import pydoc
    import pydoc_data.topics

    text = pydoc_data.topics.topics[label].strip()
    title = "KEYWORD" if name in pydoc.Helper.keywords else "TOPIC"
    contents = (pydoc.html.heading(f'<strong class="title">{title}</strong>')
                + pydoc.html.bigsection(name, "index", f"<pre>{pydoc.html.markup(text)}</pre>"))
    if xrefs.split():
        links = pydoc.html.multicolumn(sorted(xrefs.split()), lambda x: f'<a href="topic?key={x}">{x}</a>')
        contents += pydoc.html.section("Related help topics: ", "index", links)
    return pydoc.html.page(f"{title} {name}", contents).encode("utf-8")


def _pydoc_pages(skipped: dict[str, int]) -> Iterator[_Page]:
    for name in _pydoc_modules():
        body = _pydoc_page(name)
        if body is None:
            skipped["pydoc"] = skipped.get("pydoc", 0) + 1
            continue
        yield _Page(f"{PYDOC_URL}{name}.html", body, "text/html; charset=utf-8")
    for label, (name, xrefs) in sorted(_topics().items(), key=lambda item: item[1][0]):
        yield _Page(f"{PYDOC_URL}topic?key={name}", _topic_page(label, name, xrefs), "text/html; charset=utf-8")


# ------------------------------------------------------------------------------------------ share/doc


def _doc_roots() -> list[Path]:
    roots: list[Path] = []
    for base in (sys.prefix, sys.base_prefix, "/"):
        folder = Path(base) / ("usr/share/doc" if base == "/" else "share/doc")
        if folder.is_dir() and folder.resolve() not in [r.resolve() for r in roots]:
            roots.append(folder)
    return roots


def _share_doc_files() -> list[tuple[Path, int, int]]:
    """(path, size, mtime_ns) of the share/doc HTML files that go in, in order: per package folder sorted,
    then taken round-robin across packages so that one big manual does not crowd out the rest."""
    per_package: dict[tuple[str, str], list[tuple[Path, int, int]]] = {}
    for root in _doc_roots():
        for folder, dirs, files in os.walk(root):  # followlinks=False: symbolic links are not entered
            dirs.sort()
            for name in sorted(files):
                if not name.lower().endswith((".html", ".htm")):
                    continue
                path = Path(folder, name)
                try:
                    st = path.lstat()
                except OSError:
                    continue
                if path.is_symlink() or not path.is_file() or st.st_size == 0 or st.st_size > SHARE_DOC_MAX_BYTES:
                    continue
                package = path.relative_to(root).parts[0]
                bucket = per_package.setdefault((str(root), package), [])
                if len(bucket) < SHARE_DOC_PER_PACKAGE:
                    bucket.append((path, st.st_size, st.st_mtime_ns))
    chosen: list[tuple[Path, int, int]] = []
    queues = [per_package[k] for k in sorted(per_package)]
    depth = 0
    while len(chosen) < SHARE_DOC_CAP and any(depth < len(q) for q in queues):
        for q in queues:
            if depth < len(q) and len(chosen) < SHARE_DOC_CAP:
                chosen.append(q[depth])
        depth += 1
    return chosen


def _share_doc_pages(files: list[tuple[Path, int, int]], skipped: dict[str, int]) -> Iterator[_Page]:
    for path, _, _ in files:
        try:
            body = path.read_bytes()
        except OSError:
            skipped["share-doc"] = skipped.get("share-doc", 0) + 1
            continue
        yield _Page(path.as_uri(), body, "text/html")


# -------------------------------------------------------------------------------------------- project


def _project_docs() -> list[Path]:
    root = project_root()
    docs = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
    return [p for p in docs if p.is_file()]


def _markdown_renderer():
    if importlib.util.find_spec("markdown_it") is None:
        return None
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


BLOG_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} | seed notes</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
</head>
<body>
<header class="site-header">
  <a class="site-title" href="/">seed notes</a>
  <nav class="site-nav"><a href="/">Home</a> <a href="/archive/">Archive</a> <a href="/about/">About</a></nav>
</header>
<main class="page-content">
<article class="post">
<header class="post-header"><h1 class="post-title">{title}</h1>
<p class="post-meta">Posted in <a href="/tags/data/">data</a> &middot; {words} words</p></header>
<div class="post-content">
{content}
</div>
</article>
</main>
<footer class="site-footer"><p>Written by the seed project. Subscribe via <a href="/feed.xml">RSS</a>.</p></footer>
</body>
</html>
"""

PROSE_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
</head>
<body>
<main>
<h1>{title}</h1>
{content}
</main>
</body>
</html>
"""


def _title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return fallback


def _project_pages(renderer, docs: list[Path]) -> Iterator[_Page]:
    for path in docs:
        text = path.read_text(encoding="utf-8")
        title = html.escape(_title(text, path.stem))
        content = renderer.render(text)
        page = BLOG_PAGE.format(title=title, words=len(text.split()), content=content)
        yield _Page(path.as_uri(), page.encode("utf-8"), "text/html; charset=utf-8")


_LICENCE_NAME = re.compile(r"^(licen[cs]e|copying)", re.IGNORECASE)


def _licence_files() -> list[tuple[str, Path, int, int]]:
    """(distribution folder name, path, size, mtime_ns) of the installed distributions' licence files."""
    site = Path(sysconfig.get_paths()["purelib"])
    out = []
    for info in sorted(site.glob("*.dist-info")):
        licenses = info / "licenses"  # PEP 639's folder
        candidates = sorted(info.iterdir()) + (sorted(licenses.rglob("*")) if licenses.is_dir() else [])
        for path in candidates:
            if _LICENCE_NAME.match(path.name) and path.is_file() and not path.is_symlink():
                st = path.stat()
                if 0 < st.st_size <= SHARE_DOC_MAX_BYTES:
                    out.append((info.name, path, st.st_size, st.st_mtime_ns))
    return out


def _licence_pages(files: list[tuple[str, Path, int, int]], skipped: dict[str, int]) -> Iterator[_Page]:
    seen: set[str] = set()
    count = 0
    for info, path, _, _ in files:
        if count >= LICENCE_CAP:
            return
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            skipped["licences"] = skipped.get("licences", 0) + 1
            continue
        digest = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        dist = info[: -len(".dist-info")]
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
        content = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        page = PROSE_PAGE.format(title=html.escape(f"{dist}: {path.name}"), content=content)
        count += 1
        yield _Page(path.as_uri(), page.encode("utf-8"), "text/html; charset=utf-8")


# ---------------------------------------------------------------------------------------------- build


def _inventory() -> tuple[dict, dict]:
    """What the pages are made of, cheaply (no page rendered or read): (the description hashed for the
    cache, the file lists the build uses)."""
    renderer = _markdown_renderer()
    docs = _project_docs() if renderer is not None else []
    share = _share_doc_files()
    licences = _licence_files()
    description = {
        "build": BUILD,
        "python": sys.version,
        "pydoc": [[m, _installed(d)] for d, m in PACKAGE_MODULES] + list(STDLIB_MODULES),
        "share_doc": [[str(p), size, mtime] for p, size, mtime in share],
        "markdown_it": _installed("markdown-it-py") if renderer is not None else None,
        "project": [[str(p), hashlib.sha256(p.read_bytes()).hexdigest()] for p in docs],
        "licences": [[str(p), size, mtime] for _, p, size, mtime in licences],
    }
    return description, {"renderer": renderer, "docs": docs, "share": share, "licences": licences}


def _write(folder: Path, source: str, pages: Iterator[_Page]) -> tuple[list[str], int]:
    names: list[str] = []
    batch: list[_Page] = []
    count = 0

    def flush() -> None:
        name = f"{source}-{len(names):03d}.warc.gz"
        info_id = record_uuid(name, "warcinfo")
        records = [warcinfo(name, info_id)]
        for i, page in enumerate(batch):
            index = count - len(batch) + i
            ids = (record_uuid(page.url, index, "request"), record_uuid(page.url, index, "response"))
            records += page_records(page.url, http_response(page.body, content_type=page.content_type), ids,
                                    warcinfo_id=info_id)
        write_warc(folder / name, records)
        names.append(name)
        batch.clear()

    for page in pages:
        batch.append(page)
        count += 1
        if len(batch) == PAGES_PER_WARC:
            flush()
    if batch:
        flush()
    return names, count


def _build(folder: Path, plan: dict, digest: str) -> dict:
    skipped: dict[str, int] = {}
    sources: dict[str, dict] = {}
    warcs: list[str] = []
    steps = [("pydoc", _pydoc_pages(skipped)), ("share-doc", _share_doc_pages(plan["share"], skipped))]
    if plan["renderer"] is not None:
        steps.append(("project", _project_pages(plan["renderer"], plan["docs"])))
    steps.append(("licences", _licence_pages(plan["licences"], skipped)))
    for source, pages in steps:
        names, count = _write(folder, source, pages)
        sources[source] = {"pages": count, "skipped": skipped.get(source, 0), "warcs": names}
        warcs += names
    if plan["renderer"] is None:
        sources["project"] = {"pages": 0, "skipped": 0, "warcs": [], "note": "markdown-it-py is not installed"}
    return {"inputs": digest, "build": BUILD, "pages": sum(s["pages"] for s in sources.values()),
            "sources": sources, "warcs": warcs}


def default_warcs(home: Path) -> list[str]:
    """The embedded default's WARC files (absolute paths, sorted), built under home/web/<hash>/ on first
    use and reused while their inputs are unchanged."""
    description, plan = _inventory()
    digest = hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:16]
    parent = Path(home) / "web"
    folder = parent / digest
    if not (folder / MANIFEST).is_file():
        parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".build-{digest}-", dir=parent))
        try:
            manifest = _build(work, plan, digest)
            (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            try:
                os.rename(work, folder)  # whole or not at all; another process may have won the race
            except OSError:
                if not (folder / MANIFEST).is_file():
                    raise
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    manifest = json.loads((folder / MANIFEST).read_text())
    return sorted(str(folder / name) for name in manifest["warcs"])
