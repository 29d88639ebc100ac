"""Real source found on this machine, per language, for bench/syntax.py (nothing is downloaded).

Each loader returns [(name, bytes)] of files from released projects: CPython-compilable Python from the
venv's site-packages, the JDK's src.zip, npm's own JavaScript, glibc/libstdc++ headers and C examples
shipped in Debian -dev packages, Go from git's contrib folder, and Rust crates shipped as Debian packages
(`apt-get install librust-serde-dev librust-regex-dev librust-anyhow-dev librust-itertools-dev
librust-clap-dev librust-rand-dev librust-log-dev` puts ~3,300 crate sources under
/usr/share/cargo/registry), topped up with Rust's standard library as rendered in the rustup
documentation (the HTML source pages, turned back into source text; it uses unstable syntax that
tree-sitter's grammar does not know, so it is the less representative source).

Known-good means "its own toolchain accepts it", where the toolchain is on the machine: CPython's
`compile()` for Python, `gcc -fsyntax-only` for C, `g++ -fsyntax-only -std=gnu++20` for C++ (headers
checked standalone, so ones that only compile inside their umbrella header are left out), and
`rustc +nightly -Zparse-crate-root-only` for Rust. Files the toolchain rejects are not in the corpus.
"""

from __future__ import annotations

import glob
import html
import tempfile
import os
import random
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

Corpus = list[tuple[str, bytes]]


def _files(patterns: list[str], min_size: int = 1024, max_size: int = 400_000) -> list[str]:
    out = []
    for pattern in patterns:
        for p in glob.glob(pattern, recursive=True):
            try:
                if os.path.isfile(p) and min_size <= os.path.getsize(p) <= max_size:
                    out.append(p)
            except OSError:
                pass
    return sorted(set(out))


def _read(paths: list[str], rng: random.Random, budget: int, good=None) -> Corpus:
    """Random UTF-8 files up to `budget` bytes; `good(path, data)` may reject more (e.g. does it compile)."""
    rng.shuffle(paths)
    out, total = [], 0
    for p in paths:
        if total >= budget:
            break
        data = Path(p).read_bytes()
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if good is not None and not good(p, data):
            continue
        out.append((p, data))
        total += len(data)
    return out


def _accepted_by(*command: str, suffix: str = "", copy: bool = False):
    """good(path, data) -> does `command path` exit 0; None (no check) when the tool is missing."""
    tool = shutil.which(command[0]) or shutil.which(os.path.expanduser(f"~/.cargo/bin/{command[0]}"))
    if tool is None:
        print(f"note: {command[0]} not found; its corpus is not checked by its toolchain", file=sys.stderr)
        return None

    def good(path: str, data: bytes) -> bool:
        with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
            if copy:  # the data is not a file of its own (extracted from HTML)
                tmp.write(data)
                tmp.flush()
                path = tmp.name
            try:
                return subprocess.run([tool, *command[1:], path], capture_output=True, timeout=60,
                                      cwd=os.path.dirname(path) or ".").returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                return False

    return good


def python(rng: random.Random, budget: int) -> Corpus:
    site = next(p for p in sys.path if p.endswith("site-packages"))
    paths = [p for p in _files([f"{site}/**/*.py"]) if "/_vendor/" not in p and "/test" not in p]

    def compiles(path: str, data: bytes) -> bool:  # known-good: CPython accepts it
        try:
            compile(data, path, "exec", dont_inherit=True)
            return True
        except (SyntaxError, ValueError):
            return False

    return _read(paths, rng, budget, compiles)


def java(rng: random.Random, budget: int) -> Corpus:
    zips = sorted({os.path.realpath(z) for z in glob.glob("/usr/lib/jvm/*/lib/src.zip") if os.path.isfile(z)})
    out, total = [], 0
    for z in zips:
        with zipfile.ZipFile(z) as archive:
            infos = [i for i in archive.infolist() if i.filename.endswith(".java") and 1024 <= i.file_size <= 400_000
                     and i.filename.startswith(("java.base/java/", "java.desktop/java/", "java.sql/"))]
            rng.shuffle(infos)
            for info in infos:
                if total >= budget:
                    return out
                data = archive.read(info)
                out.append((f"{z}!{info.filename}", data))
                total += len(data)
    return out


def javascript(rng: random.Random, budget: int) -> Corpus:
    paths = [p for p in _files(["/usr/lib/node_modules/npm/**/*.js", "/usr/share/nodejs/**/*.js"])
             if not p.endswith(".min.js")]
    return _read(paths, rng, budget)


def c(rng: random.Random, budget: int) -> Corpus:
    return _read(_files(["/usr/include/*.h", "/usr/include/*/*.h", "/usr/share/doc/*/examples/**/*.c"]), rng, budget,
                 _accepted_by("gcc", "-fsyntax-only", "-w", "-x", "c", "-std=gnu17"))


def cpp(rng: random.Random, budget: int) -> Corpus:
    return _read(_files(["/usr/include/c++/*/*", "/usr/include/c++/*/bits/*.h", "/usr/include/c++/*/bits/*.tcc",
                         "/usr/include/**/*.hpp"]), rng, budget,
                 _accepted_by("g++", "-fsyntax-only", "-w", "-x", "c++", "-std=gnu++20"))


def go(rng: random.Random, budget: int) -> Corpus:
    return _read(_files(["/usr/share/doc/**/*.go", "/usr/lib/go*/src/**/*.go", "/usr/local/go/src/**/*.go"]),
                 rng, budget)


_RUST_CODE = re.compile(r'<pre class="rust"><code>(.*?)</code></pre>', re.S)
_LINE_ANCHOR = re.compile(r"<a href=#\d+ id=\d+ data-nosnippet>\d+</a>")
_TAG = re.compile(r"<[^>]+>")


def rust(rng: random.Random, budget: int) -> Corpus:
    good = _accepted_by("rustc", "+nightly", "-Zparse-crate-root-only", "--edition", "2024", suffix=".rs",
                        copy=True)
    real = _files(["/root/.cargo/registry/src/**/*.rs", "/usr/share/cargo/registry/**/*.rs"])
    out = _read(real, rng, budget, good)
    total = sum(len(d) for _, d in out)
    pages = _files([os.path.expanduser("~/.rustup/toolchains/*/share/doc/rust/html/src/**/*.rs.html")],
                   max_size=4_000_000)
    rng.shuffle(pages)
    for p in pages:
        if total >= budget:
            break
        m = _RUST_CODE.search(Path(p).read_text(encoding="utf-8", errors="replace"))
        if not m:
            continue
        data = html.unescape(_TAG.sub("", _LINE_ANCHOR.sub("", m.group(1)))).encode("utf-8")
        if 1024 <= len(data) <= 400_000 and (good is None or good(p, data)):
            out.append((p.removesuffix(".html"), data))
            total += len(data)
    return out


LOADERS = {"Python": python, "Java": java, "JavaScript": javascript, "C": c, "C++": cpp, "Go": go, "Rust": rust}
EXTENSIONS = {"Python": ".py", "Java": ".java", "JavaScript": ".js", "C": ".c", "C++": ".cpp", "Go": ".go",
              "Rust": ".rs"}


def damage(data: bytes, rng: random.Random) -> tuple[bytes, bytes]:
    """Two damaged copies: truncated at a random point past its first quarter, and one with a bracket removed."""
    cut = data[: rng.randrange(len(data) // 4, max(len(data) // 4 + 1, len(data) - 1))]
    brackets = [i for i, ch in enumerate(data) if ch in b"()[]{}"]
    if brackets:
        i = rng.choice(brackets)
        lost = data[:i] + data[i + 1:]
    else:
        lost = data
    return cut, lost
