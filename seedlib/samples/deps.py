"""Imports resolved to files of the same repository, per language, for dependency order.

`resolve(sources)` takes one repository's files and returns which of its files each file imports
(`Graph.imports`, importer -> imported) and the files that belong together without an import between
them (`Graph.links`: the files of one Go package). Nothing is executed: the text is only read.

Why regular expressions and not tree-sitter: import syntax is line-oriented and lexically simple in
every language handled here, and only import statements matter, not the rest of the file. A regex pass
over a file is ~100x cheaper than a parse, needs no grammar in each Spark worker, and does not care
whether the rest of the file parses (a file the syntax stage kept can still hold a few error regions).
Comments are blanked first for the C-like languages (`//`, `/* */`, outside string literals), so a
commented-out import is not one. What a regex can still get wrong is an import-like line inside a string
(a docstring example); such an edge only changes the order of files, never their contents, and only
when it names a file that exists in the repository.

Per language (the file's `lang`, from seedlib/languages.py):
- Python: `import a.b`, `from a.b import c` (c a submodule or a name), relative `from . import x`,
  `from ..p import y`. A module `a.b` is `R/a/b.py`, `R/a/b.pyi` or `R/a/b/__init__.py(i)` under a
  root R tried in this order: the importer's directory (when it is not a package: scripts), the root
  of the importer's package tree, the repository root, then every other source root (the parent of a
  top-level package, e.g. `src/`), shallowest first. `import a.b.c` also imports the packages' `__init__`
  files on the way (`a/__init__.py`, `a/b/__init__.py`), except the importer's own enclosing packages.
  The longest prefix that resolves wins (`from a.b import c`: `a/b/c.py`, else `a/b.py`).
- Java: a class is `package` + file stem (the file's own `package` line, so any source root works);
  `import a.b.C;` -> C's file (nested classes and static members: the longest prefix that is a class),
  `import a.b.*;` -> every file of package a.b; and same-package use without import: a file depends on
  the other files of its package whose class name it mentions as an identifier.
- JavaScript / TypeScript: relative specifiers (`./`, `../`) of `import ... from`, `export ... from`,
  side-effect `import '...'`, dynamic `import('...')` and `require('...')`; tried as the file itself,
  with the extensions (the importer's family first: .ts/.tsx/.d.ts/.mts/.cts for TypeScript, then
  .js/.jsx/.mjs/.cjs), then `<dir>/index.<ext>`; a `.js` specifier also finds the `.ts` source
  (TypeScript's ESM convention). Bare package names and path aliases are other packages: not resolved.
- C / C++ / CUDA / Objective-C: `#include "x"` relative to the including file's directory, then to its
  ancestor directories (nearest first), then to the include roots (the repository root and every
  directory named include, inc, src, source or lib, shallowest first); `#include <x>` (and `#import`)
  the same minus the file's own directory. Last, a path that ends with `/x` when exactly one file does
  (for `<x>` only when x has a directory part, so `<stdio.h>` never matches a local file by name).
- Go: an import path is matched to a package directory through the `module` line of the repository's
  go.mod files (module M in directory D: `M/p/q` is `D/p/q`; the longest module path wins). Without a
  matching go.mod (the crawl keeps no go.mod: it has no language), a path whose first element has a
  dot and that names the repository (`github.com/o/r/p/q` for repository o/r) is directory `p/q`
  (`github.com/o/r` the root package); when the repository's name is unknown, the deepest directory
  the path ends with. Importing a package
  depends on all its non-test files; the non-test files of one directory are linked (one package: they
  stay in one part); a `_test.go` file depends on its directory's non-test files.

Other languages (HTML, SQL, Shell, Markdown, ...) have no resolver: they import and are imported by
nothing here (seedlib/samples/sequences.py puts them in a seeded random order).
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

PYTHON = frozenset({"Python"})
JAVA = frozenset({"Java"})
JS_TS = frozenset({"JavaScript", "TypeScript"})
C_FAMILY = frozenset({"C", "C++", "CUDA", "Objective-C"})
GO = frozenset({"Go"})
# Languages whose imports are resolved: their files are put in dependency order.
ORDERED = PYTHON | JAVA | JS_TS | C_FAMILY | GO


@dataclass(frozen=True)
class Source:
    path: str
    lang: str | None
    text: str


@dataclass
class Graph:
    imports: dict[str, set[str]] = field(default_factory=dict)  # importer -> files of ORDERED languages
    links: list[tuple[str, str]] = field(default_factory=list)  # undirected: belong together (a Go package)

    def add(self, importer: str, targets: Iterable[str]) -> None:
        found = {t for t in targets if t and t != importer}
        if found:
            self.imports.setdefault(importer, set()).update(found)


def resolve(sources: Iterable[Source], repo: str | None = None) -> Graph:
    """The import graph of one repository's files (paths relative to the repository root). `repo`
    ("owner/name" where known) helps match Go import paths when the repository has no go.mod."""
    sources = list(sources)
    ordered = {s.path for s in sources if s.lang in ORDERED}
    graph = Graph()
    by_lang: dict[frozenset, list[Source]] = defaultdict(list)
    for s in sources:
        for family in (PYTHON, JAVA, JS_TS, C_FAMILY, GO):
            if s.lang in family:
                by_lang[family].append(s)
    resolvers: dict[frozenset, Callable] = {PYTHON: _python, JAVA: _java, JS_TS: _js_ts, C_FAMILY: _c_family}
    for family, resolver in resolvers.items():
        if by_lang[family]:
            resolver(by_lang[family], ordered, graph)
    if by_lang[GO]:
        gomods = [s for s in sources if posixpath.basename(s.path) == "go.mod"]
        _go(by_lang[GO], gomods, graph, repo)
    for importer in list(graph.imports):  # only files that are put in dependency order are targets
        graph.imports[importer] &= ordered
        if not graph.imports[importer]:
            del graph.imports[importer]
    return graph


# ---------- shared ----------

_C_LIKE_TOKENS = re.compile(r'//[^\n]*|/\*.*?(?:\*/|\Z)|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_BACKTICK_TOKENS = re.compile(r'//[^\n]*|/\*.*?(?:\*/|\Z)|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|`(?:\\.|[^`\\])*`',
                              re.S)


def strip_comments(text: str, backticks: bool = False) -> str:
    """`//` and `/* */` comments blanked (newlines kept, so line anchors still work); string literals
    (and backtick strings for JavaScript and Go) are skipped over, so `"http://x"` stays whole."""

    def blank(m: re.Match) -> str:
        s = m.group(0)
        if s[0] == "/":
            return "\n" * s.count("\n") or " "
        return s

    return (_BACKTICK_TOKENS if backticks else _C_LIKE_TOKENS).sub(blank, text)


def _dir(path: str) -> str:
    return posixpath.dirname(path)


def _join(base: str, rel: str) -> str | None:
    """base/rel normalised; None when it leaves the repository."""
    joined = posixpath.normpath(posixpath.join(base, rel)) if base else posixpath.normpath(rel)
    if joined == "." or joined.startswith("../") or joined == ".." or joined.startswith("/"):
        return None
    return joined


def _ancestors(directory: str) -> list[str]:
    """directory, its parent, ..., "" (the repository root)."""
    out = []
    while directory:
        out.append(directory)
        directory = _dir(directory)
    return out + [""]


def _depth_key(path: str) -> tuple[int, str]:
    return (path.count("/") + (1 if path else 0), path)


# ---------- Python ----------

_PY_FROM = re.compile(r"^[ \t]*from[ \t]+(\.+[\w.]*|[\w.]+)[ \t]+import[ \t]*(\([^)]*\)|(?:[^\n\\]|\\\n)*)", re.M)
_PY_IMPORT = re.compile(r"^[ \t]*import[ \t]+((?:[^\n\\#;]|\\\n)+)", re.M)
_PY_COMMENT = re.compile(r"#[^\n]*")


def python_imports(text: str) -> list[tuple[int, str, list[str]]]:
    """(level, module, names) per import statement: `import a.b` -> (0, "a.b", []);
    `from ..p import x, y` -> (2, "p", ["x", "y"]); `from . import *` -> (1, "", ["*"])."""
    out = []
    for m in _PY_FROM.finditer(text):
        spec = m.group(1)
        level = len(spec) - len(spec.lstrip("."))
        names = _PY_COMMENT.sub("", m.group(2)).replace("\\\n", " ").strip("() \t\n")
        out.append((level, spec[level:], [n.split()[0] for n in names.split(",") if n.split()]))
    for m in _PY_IMPORT.finditer(text):
        for item in m.group(1).replace("\\\n", " ").split(","):
            words = item.split()
            if words and re.fullmatch(r"[\w.]+", words[0]):
                out.append((0, words[0], []))
    return out


def _python(sources: list[Source], ordered: set[str], graph: Graph) -> None:
    paths = {s.path for s in sources}
    packages = {_dir(p) for p in paths if posixpath.basename(p) in ("__init__.py", "__init__.pyi")}
    source_roots = sorted({_dir(d) for d in packages if _dir(d) not in packages}, key=_depth_key)

    cache: dict[tuple[str, tuple[str, ...]], str | None] = {}

    def module_file(root: str, parts: list[str]) -> str | None:
        key = (root, tuple(parts))
        if key not in cache:
            rel = "/".join(parts)
            base = f"{root}/{rel}" if root and rel else root or rel
            package = f"{base}/" if base else ""
            candidates = ([base + ".py", base + ".pyi"] if parts else []) + [package + "__init__.py",
                                                                              package + "__init__.pyi"]
            cache[key] = next((c for c in candidates if c in paths), None)
        return cache[key]

    def longest(root: str, parts: list[str], minimum: int = 1) -> tuple[int, str] | None:
        for k in range(len(parts), minimum - 1, -1):
            found = module_file(root, parts[:k])
            if found:
                return k, found
        return None

    def tree_root(directory: str) -> str:
        while directory and directory in packages:  # "" (the root) may be a package too: its own root
            directory = _dir(directory)
        return directory

    for s in sources:
        here = _dir(s.path)
        own_packages = {d for d in _ancestors(here) if d in packages}
        roots = ([] if here in packages else [here]) + [tree_root(here), ""] + source_roots
        roots = list(dict.fromkeys(roots))
        targets: set[str] = set()
        for level, module, names in python_imports(s.text):
            parts = [p for p in module.split(".") if p]
            wanted = [parts + [n] for n in names if n != "*"] or [parts]
            if level:
                base = here
                for _ in range(level - 1):
                    if not base:
                        break
                    base = _dir(base)
                else:
                    for w in wanted:
                        hit = longest(base, w, minimum=0)
                        if hit:
                            targets.add(hit[1])
                            targets.update(_inits(paths, base, w[:max(0, hit[0] - 1)], own_packages))
                continue
            for w in wanted:
                for root in roots:
                    hit = longest(root, w)
                    if hit:
                        targets.add(hit[1])
                        targets.update(_inits(paths, root, w[:hit[0] - 1], own_packages))
                        break
        graph.add(s.path, targets)


def _inits(paths: set[str], root: str, package_parts: list[str], own_packages: set[str]) -> list[str]:
    """The `__init__` files of the packages on the way to a module (importing `a.b.c` runs a/__init__
    and a/b/__init__), less the importer's own enclosing packages (already being imported)."""
    out = []
    for k in range(1, len(package_parts) + 1):
        directory = posixpath.join(root, *package_parts[:k]) if root else posixpath.join(*package_parts[:k])
        if directory in own_packages:
            continue
        for name in ("__init__.py", "__init__.pyi"):
            if posixpath.join(directory, name) in paths:
                out.append(posixpath.join(directory, name))
                break
    return out


# ---------- Java ----------

_JAVA_PACKAGE = re.compile(r"^[ \t]*package[ \t]+([\w.]+)[ \t]*;", re.M)
_JAVA_IMPORT = re.compile(r"^[ \t]*import[ \t]+(static[ \t]+)?([\w.]+)([ \t]*\.[ \t]*\*)?[ \t]*;", re.M)
_JAVA_TYPE_NAME = re.compile(r"\b[A-Z]\w*\b")


def _java(sources: list[Source], ordered: set[str], graph: Graph) -> None:
    stripped = {s.path: strip_comments(s.text) for s in sources}
    classes: dict[str, list[str]] = defaultdict(list)  # fully qualified name -> files
    package_files: dict[str, list[str]] = defaultdict(list)
    package_of = {}
    for s in sources:
        m = _JAVA_PACKAGE.search(stripped[s.path])
        package = m.group(1) if m else ""
        package_of[s.path] = package
        stem = posixpath.splitext(posixpath.basename(s.path))[0]
        classes[f"{package}.{stem}" if package else stem].append(s.path)
        package_files[package].append(s.path)
    siblings = {package: {posixpath.splitext(posixpath.basename(p))[0]: p for p in files}
                for package, files in package_files.items()}
    for s in sources:
        text = stripped[s.path]
        targets: set[str] = set()
        for m in _JAVA_IMPORT.finditer(text):
            name, wildcard = m.group(2), bool(m.group(3))
            if wildcard and name in package_files:
                targets.update(package_files[name])
                continue
            parts = name.split(".")
            for k in range(len(parts), 0, -1):  # a.b.C.Inner / a.b.C.member -> a.b.C
                if ".".join(parts[:k]) in classes:
                    targets.update(classes[".".join(parts[:k])])
                    break
        # same package, no import needed: the class names this file mentions
        same = siblings[package_of[s.path]]
        if len(same) > 1:
            mentioned = set(_JAVA_TYPE_NAME.findall(text))
            targets.update(p for name, p in same.items() if name in mentioned)
        graph.add(s.path, targets)


# ---------- JavaScript / TypeScript ----------

_JS_KEYWORD = re.compile(r"import|export|require")  # a literal prefilter: ~5x faster than one regex
_JS_SPECIFIER = re.compile(
    r"""(?:(?:import|export)\b[^'";]{0,2000}?\bfrom\s*['"]([^'"\n]+)['"]"""
    r"""|import\s*['"]([^'"\n]+)['"]"""
    r"""|(?:require|import)\s*\(\s*['"]([^'"\n]+)['"]\s*\))""")
_TS_EXTS = (".ts", ".tsx", ".d.ts", ".mts", ".cts")
_JS_EXTS = (".js", ".jsx", ".mjs", ".cjs")
_JS_TO_TS = {".js": (".ts", ".tsx"), ".jsx": (".tsx",), ".mjs": (".mts",), ".cjs": (".cts",)}


def js_specifiers(text: str) -> list[str]:
    """The module specifiers of import/export ... from, side-effect and dynamic imports, require()."""
    text = strip_comments(text, backticks=True)
    out, end = [], 0
    for m in _JS_KEYWORD.finditer(text):
        i = m.start()
        if i < end or (i and (text[i - 1].isalnum() or text[i - 1] in "_$.")):
            continue  # inside the previous statement, or part of a longer name (reimport, x.require)
        found = _JS_SPECIFIER.match(text, i)
        if found:
            out.append(next(g for g in found.groups() if g))
            end = found.end()
    return out


def _js_candidates(base: str, exts: tuple[str, ...]) -> Iterator[str]:
    yield base
    yield from (base + e for e in exts)
    stem, ext = posixpath.splitext(base)
    yield from (stem + e for e in _JS_TO_TS.get(ext, ()))
    yield from (f"{base}/index{e}" for e in exts)


def _js_ts(sources: list[Source], ordered: set[str], graph: Graph) -> None:
    paths = ordered
    for s in sources:
        exts = _TS_EXTS + _JS_EXTS if s.lang == "TypeScript" else _JS_EXTS + _TS_EXTS
        targets = set()
        for spec in js_specifiers(s.text):
            if not spec.startswith(("./", "../")) and spec not in (".", ".."):
                continue  # a package (node_modules) or a path alias: not a file of this repository
            base = _join(_dir(s.path), spec)
            if base is None:
                continue
            hit = next((c for c in _js_candidates(base, exts) if c in paths), None)
            if hit:
                targets.add(hit)
        graph.add(s.path, targets)


# ---------- C / C++ ----------

_INCLUDE = re.compile(r'^[ \t]*#[ \t]*(?:include|import)[ \t]*([<"])([^>"\n]+)[>"]', re.M)
INCLUDE_ROOT_NAMES = frozenset({"include", "inc", "src", "source", "lib"})


def c_includes(text: str) -> list[tuple[bool, str]]:
    """(quoted, name) of every #include / #import."""
    return [(m.group(1) == '"', m.group(2).strip()) for m in _INCLUDE.finditer(strip_comments(text))]


def _c_family(sources: list[Source], ordered: set[str], graph: Graph) -> None:
    paths = ordered
    dirs = {d for p in paths for d in _ancestors(_dir(p))}
    roots = sorted({d for d in dirs if posixpath.basename(d) in INCLUDE_ROOT_NAMES} | {""}, key=_depth_key)
    by_name: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        by_name[posixpath.basename(p)].append(p)
    for s in sources:
        here = _dir(s.path)
        targets = set()
        for quoted, name in c_includes(s.text):
            bases = _ancestors(here) if quoted else _ancestors(here)[1:]
            hit = None
            for base in list(dict.fromkeys(bases + roots)):
                candidate = _join(base, name)
                if candidate in paths:
                    hit = candidate
                    break
            if hit is None and (quoted or "/" in name):
                suffix = "/" + "/".join(p for p in posixpath.normpath(name).split("/") if p not in ("", ".", ".."))
                matches = [p for p in by_name.get(posixpath.basename(name), ()) if ("/" + p).endswith(suffix)]
                if len(matches) == 1:
                    hit = matches[0]
            if hit:
                targets.add(hit)
        graph.add(s.path, targets)


# ---------- Go ----------

_GO_MODULE = re.compile(r'^[ \t]*module[ \t]+"?([^\s"]+)"?', re.M)
_GO_IMPORT_ONE = re.compile(r'^[ \t]*import[ \t]+(?:[\w.]+[ \t]+)?["`]([^"`\n]+)["`]', re.M)
_GO_IMPORT_BLOCK = re.compile(r"^[ \t]*import[ \t]*\(([^)]*)\)", re.M)
_GO_BLOCK_LINE = re.compile(r'^[ \t]*(?:[\w.]+[ \t]+)?["`]([^"`\n]+)["`]', re.M)


def go_imports(text: str) -> list[str]:
    text = strip_comments(text, backticks=False)
    out = [m.group(1) for m in _GO_IMPORT_ONE.finditer(text)]
    for block in _GO_IMPORT_BLOCK.finditer(text):
        out += [m.group(1) for m in _GO_BLOCK_LINE.finditer(block.group(1))]
    return out


def go_modules(gomods: Iterable[Source]) -> list[tuple[str, str]]:
    """(module path, directory) per go.mod, longest module path first."""
    out = []
    for s in gomods:
        m = _GO_MODULE.search(strip_comments(s.text))
        if m:
            out.append((m.group(1).rstrip("/"), _dir(s.path)))
    return sorted(out, key=lambda md: (-len(md[0]), md))


def _go(sources: list[Source], gomods: list[Source], graph: Graph, repo: str | None = None) -> None:
    packages: dict[str, list[str]] = defaultdict(list)  # directory -> non-test files
    for s in sorted(sources, key=lambda s: s.path):
        if not s.path.endswith("_test.go"):
            packages[_dir(s.path)].append(s.path)
    modules = go_modules(gomods)
    name = repo.rstrip("/").rsplit("/", 1)[-1].lower() if repo else None

    def package_dir(import_path: str) -> str | None:
        for module, root in modules:
            if import_path == module or import_path.startswith(module + "/"):
                rest = import_path[len(module):].lstrip("/")
                d = _join(root, rest) if rest else root
                return d if d is not None and d in packages else None
        parts = import_path.split("/")
        if "." not in parts[0]:
            return None  # the standard library, or a module path no go.mod of this repository declares
        # No go.mod declares it: `<host>/.../<repo name>/<dir>` is `<dir>` of this repository (the deepest
        # directory the path ends with), `<host>/.../<repo name>` its root package. Without the name
        # (repo unknown), any directory the path ends with.
        for k in range(1, len(parts) + 1):
            d = "/".join(parts[k:])
            if d in packages and (name is None or parts[k - 1].lower() == name) and (d or name is not None):
                return d
        return None

    for members in packages.values():
        graph.links.extend((members[0], m) for m in members[1:])
    for s in sources:
        here = _dir(s.path)
        targets = set()
        for path in go_imports(s.text):
            d = package_dir(path)
            if d is not None and d != here:
                targets.update(packages[d])
        if s.path.endswith("_test.go"):
            targets.update(packages.get(here, ()))
        graph.add(s.path, targets)
