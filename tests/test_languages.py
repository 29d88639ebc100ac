from __future__ import annotations

import pytest

from seedlib.languages import LANGUAGES, language_of


@pytest.mark.parametrize("path,lang", [
    ("src/a.py", "Python"), ("A.JAVA", "Java"), ("lib/x.hpp", "C++"), ("x.h", "C"), ("Dockerfile", "Dockerfile"),
    ("sub/Makefile", "Makefile"), ("CMakeLists.txt", "CMake"), ("main.tf", "HCL"), ("App.svelte", "Svelte"),
    ("x.rs", "Rust"), ("x.go", "Go"), ("x.tsx", "TypeScript"), ("build.gradle", "Groovy"),
])
def test_language_by_name_or_extension(path, lang):
    assert language_of(path) == lang


@pytest.mark.parametrize("path", ["LICENSE", "notes.txt", "image.png", "archive.tar.gz", "Makefile.bak"])
def test_unknown_is_none_not_a_guess(path):
    assert language_of(path) is None


def test_table_covers_the_reports_language_count():
    assert len(LANGUAGES) >= 89
