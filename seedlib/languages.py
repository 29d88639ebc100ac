"""File name -> language: the one table the crawl (and later the syntax stage) uses.

Language comes from the extension or a well-known file name only (as in the Seed-Coder report); anything
not in the table is `None`, which the crawl records in the ledger as `unknown_language` instead of guessing.
"""

from __future__ import annotations

import posixpath

# language -> extensions (lower case, with the dot)
_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "Ada": (".adb", ".ads"),
    "Assembly": (".asm", ".s"),
    "Awk": (".awk",),
    "Batchfile": (".bat", ".cmd"),
    "C": (".c", ".h"),
    "C#": (".cs",),
    "C++": (".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp", ".tcc", ".inl"),
    "Clojure": (".clj", ".cljs", ".cljc", ".edn"),
    "CMake": (".cmake",),
    "COBOL": (".cob", ".cbl"),
    "CoffeeScript": (".coffee",),
    "Common Lisp": (".lisp", ".lsp", ".cl"),
    "CSS": (".css",),
    "CUDA": (".cu", ".cuh"),
    "Dart": (".dart",),
    "Dockerfile": (".dockerfile",),
    "Elixir": (".ex", ".exs"),
    "Elm": (".elm",),
    "Emacs Lisp": (".el",),
    "Erlang": (".erl", ".hrl"),
    "F#": (".fs", ".fsi", ".fsx"),
    "Fortran": (".f", ".f77", ".f90", ".f95", ".f03", ".for"),
    "GLSL": (".glsl", ".vert", ".frag"),
    "Go": (".go",),
    "Groovy": (".groovy", ".gradle"),
    "Haskell": (".hs", ".lhs"),
    "HTML": (".html", ".htm", ".xhtml"),
    "Java": (".java",),
    "JavaScript": (".js", ".mjs", ".cjs", ".jsx"),
    "JSON": (".json",),
    "Julia": (".jl",),
    "Kotlin": (".kt", ".kts"),
    "Less": (".less",),
    "Lua": (".lua",),
    "Makefile": (".mk", ".mak"),
    "Markdown": (".md", ".markdown"),
    "MATLAB": (".m",),
    "Nim": (".nim",),
    "Nix": (".nix",),
    "Objective-C": (".mm",),
    "OCaml": (".ml", ".mli"),
    "Pascal": (".pas", ".pp"),
    "Perl": (".pl", ".pm"),
    "PHP": (".php",),
    "PowerShell": (".ps1", ".psm1"),
    "Prolog": (".pro",),
    "Protocol Buffer": (".proto",),
    "Python": (".py", ".pyi", ".pyw"),
    "R": (".r",),
    "Racket": (".rkt",),
    "reStructuredText": (".rst",),
    "Ruby": (".rb", ".rake", ".gemspec"),
    "Rust": (".rs",),
    "Sass": (".sass", ".scss"),
    "Scala": (".scala", ".sc"),
    "Scheme": (".scm", ".ss"),
    "Shell": (".sh", ".bash", ".zsh", ".ksh"),
    "SQL": (".sql",),
    "Swift": (".swift",),
    "Tcl": (".tcl",),
    "TeX": (".tex", ".sty", ".cls"),
    "TOML": (".toml",),
    "TypeScript": (".ts", ".tsx", ".mts", ".cts"),
    "Verilog": (".v", ".sv", ".svh"),
    "VHDL": (".vhd", ".vhdl"),
    "Vue": (".vue",),
    "XML": (".xml", ".xsd", ".xsl"),
    "YAML": (".yml", ".yaml"),
    "Zig": (".zig",),
}

# Whole file names (case-sensitive as they appear in repositories).
_FILENAMES: dict[str, str] = {
    "Dockerfile": "Dockerfile",
    "Containerfile": "Dockerfile",
    "Makefile": "Makefile",
    "GNUmakefile": "Makefile",
    "makefile": "Makefile",
    "CMakeLists.txt": "CMake",
    "Rakefile": "Ruby",
    "Gemfile": "Ruby",
    "Jenkinsfile": "Groovy",
    "BUILD": "Starlark",
    "BUILD.bazel": "Starlark",
    "WORKSPACE": "Starlark",
}

BY_EXTENSION: dict[str, str] = {ext: lang for lang, exts in _EXTENSIONS.items() for ext in exts}
LANGUAGES: frozenset[str] = frozenset(_EXTENSIONS) | frozenset(_FILENAMES.values())


def language_of(path: str) -> str | None:
    """Language of a repository path by file name or extension, or None when not in the table."""
    name = posixpath.basename(path)
    if name in _FILENAMES:
        return _FILENAMES[name]
    _, ext = posixpath.splitext(name)
    return BY_EXTENSION.get(ext.lower())
