from __future__ import annotations

import pytest

from seedlib.config import ConfigError
from seedlib.sources import FOLDER, GIT, parse_specs
from seedlib.sources.defaults import default_specs, project_root
from tests.repos import make_repo


def test_spec_forms(tmp_path):
    repo = make_repo(tmp_path / "one", {"a.py": "a = 1\n"})
    folder = tmp_path / "plain"
    folder.mkdir()
    (tmp_path / "list.txt").write_text(f"# comment\n{repo}\n\nplain\nhttps://github.com/Org/Name.git\n")
    sources = parse_specs([f"@{tmp_path / 'list.txt'}", repo.as_uri()])
    assert [(s.repo, s.kind) for s in sources] == [
        ("Org/Name", GIT), ("local/one", GIT), ("local/plain", FOLDER)]
    assert sources[0].url == "https://github.com/Org/Name.git"


def test_same_name_from_two_places_keeps_both(tmp_path):
    a = make_repo(tmp_path / "a" / "lib", {"a.py": "a = 1\n"})
    b = make_repo(tmp_path / "b" / "lib", {"b.py": "b = 1\n"})
    ids = [s.repo for s in parse_specs([str(a), str(b), str(a)])]
    assert len(ids) == 2 and "local/lib" in ids and any(i.startswith("local/lib-") for i in ids)


def test_bad_specs_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="cannot read source list"):
        parse_specs([f"@{tmp_path}/nope.txt"])
    with pytest.raises(ConfigError, match="github:stars:>100.*needs network access and a token"):
        parse_specs(["github:stars:>100"])


def test_embedded_default_has_this_repo_and_vendoring_packages():
    specs = default_specs()
    assert str(project_root()) in specs
    names = {s.rstrip("/").rsplit("/", 1)[-1] for s in specs}
    assert {"pip", "requests", "urllib3", "packaging"} <= names
