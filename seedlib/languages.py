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
    "Agda": (".agda",),
    "AppleScript": (".applescript", ".scpt"),
    "Astro": (".astro",),
    "Crystal": (".cr",),
    "Cython": (".pyx", ".pxd", ".pxi"),
    "D": (".d", ".di"),
    "Dhall": (".dhall",),
    "Eiffel": (".e",),
    "Fennel": (".fnl",),
    "Forth": (".fth", ".4th"),
    "GDScript": (".gd",),
    "Gherkin": (".feature",),
    "GraphQL": (".graphql", ".gql"),
    "Hack": (".hack", ".hhi"),
    "Handlebars": (".hbs", ".handlebars"),
    "Haxe": (".hx",),
    "HCL": (".hcl", ".tf", ".tfvars"),
    "Idris": (".idr",),
    "Isabelle": (".thy",),
    "Janet": (".janet",),
    "Jsonnet": (".jsonnet", ".libsonnet"),
    "Lean": (".lean",),
    "LLVM": (".ll",),
    "Mathematica": (".wl", ".nb"),
    "Move": (".move",),
    "Pony": (".pony",),
    "PureScript": (".purs",),
    "Q#": (".qs",),
    "Raku": (".raku", ".rakumod", ".p6", ".pm6"),
    "ReasonML": (".re", ".rei"),
    "Solidity": (".sol",),
    "SAS": (".sas",),
    "Smalltalk": (".st",),
    "SPARQL": (".sparql", ".rq"),
    "Standard ML": (".sml", ".sig"),
    "Stan": (".stan",),
    "Svelte": (".svelte",),
    "Thrift": (".thrift",),
    "Vala": (".vala", ".vapi"),
    "Vim Script": (".vim",),
    "Visual Basic": (".vb", ".bas", ".vbs"),
    "WebAssembly": (".wat", ".wast"),
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


# language -> tree-sitter grammar in the bundled tree-sitter-language-pack (0.13), used by the syntax stage.
# Languages not listed have no grammar there, or are prose/markup where "syntax error" means nothing
# (Markdown, reStructuredText, TeX): their files pass the syntax check unparsed and are counted as such.
GRAMMARS: dict[str, str] = {
    "Ada": "ada", "Assembly": "asm", "C": "c", "C#": "csharp", "C++": "cpp", "Clojure": "clojure",
    "CMake": "cmake", "COBOL": "cobol", "Common Lisp": "commonlisp", "CSS": "css", "CUDA": "cuda",
    "Dart": "dart", "Dockerfile": "dockerfile", "Elixir": "elixir", "Elm": "elm", "Emacs Lisp": "elisp",
    "Erlang": "erlang", "F#": "fsharp", "Fortran": "fortran", "GLSL": "glsl", "Go": "go",
    "Groovy": "groovy", "Haskell": "haskell", "HTML": "html", "Java": "java", "JavaScript": "javascript",
    "JSON": "json", "Julia": "julia", "Kotlin": "kotlin", "Lua": "lua", "Makefile": "make",
    "MATLAB": "matlab", "Nim": "nim", "Nix": "nix", "OCaml": "ocaml", "Pascal": "pascal", "Perl": "perl",
    "PHP": "php", "PowerShell": "powershell", "Protocol Buffer": "proto", "Python": "python", "R": "r",
    "Racket": "racket", "Ruby": "ruby", "Rust": "rust", "Sass": "scss", "Scala": "scala",
    "Scheme": "scheme", "Shell": "bash", "SQL": "sql", "Starlark": "starlark", "Swift": "swift",
    "Tcl": "tcl", "TOML": "toml", "TypeScript": "typescript", "Verilog": "verilog", "VHDL": "vhdl",
    "Vue": "vue", "XML": "xml", "YAML": "yaml", "Zig": "zig",
}

# Extensions whose dialect needs another grammar than their language's (None: no grammar for it).
_GRAMMAR_BY_EXTENSION: dict[str, str | None] = {
    ".h": "cpp",  # headers are shared by C and C++; the C++ grammar reads both (fewer false rejects)
    ".tsx": "tsx", ".mli": "ocaml_interface", ".fsi": "fsharp_signature", ".sass": None, ".lhs": None,
    ".edn": None,
}


def grammar_of(lang: str | None, path: str = "") -> str | None:
    """The tree-sitter grammar for a file of `lang` at `path`, or None when it is not parsed."""
    if lang is None:
        return None
    _, ext = posixpath.splitext(posixpath.basename(path))
    ext = ext.lower()
    if ext in _GRAMMAR_BY_EXTENSION and BY_EXTENSION.get(ext) == lang:
        return _GRAMMAR_BY_EXTENSION[ext]
    return GRAMMARS.get(lang)
