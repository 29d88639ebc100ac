"""Where repositories come from: SPEC strings -> `Source` records.

SPEC (contract.md): a git URL (`https://github.com/o/r`, `file:///abs/repo`), a local path (a git
repository or a plain folder), `@FILE` with one SPEC a line, or `github:QUERY` (GitHub search).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from seedlib.sections import ConfigError

GIT = "git"        # cloned with git (remote URL or local repository)
FOLDER = "folder"  # a plain local folder, read as it is on disk


@dataclass(frozen=True)
class Source:
    repo: str   # stable id: "owner/name" for GitHub, "local/<name>" otherwise
    url: str    # what we fetch from (credentials stripped)
    kind: str   # GIT or FOLDER
    stars: int | None = None     # from GitHub metadata when discovered or looked up
    forks: int | None = None
    license: str | None = None   # SPDX id
    pushed_at: str | None = None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def safe_url(url: str) -> str:
    """A URL with any user:password@ part removed, fit for logs, errors and datasets."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return url


_GITHUB = re.compile(r"^https?://github\.com/([^/\s]+)/([^/\s]+?)(?:\.git)?/?$")


def parse_spec(spec: str, base_dir: Path | None = None, discover: Discovery | None = None) -> list[Source]:
    """One SPEC -> sources. Raises ConfigError naming the SPEC when it cannot be used."""
    spec = spec.strip()
    base_dir = base_dir or Path.cwd()
    if not spec:
        return []
    if spec.startswith("@"):
        path = (base_dir / spec[1:]).resolve()
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise ConfigError(f"sources: cannot read source list {path} ({e.strerror})") from None
        out: list[Source] = []
        for line in lines:
            line = line.strip()
            if line and not line.startswith("#"):
                out.extend(parse_spec(line, path.parent, discover))
        return out
    if spec.startswith("github:"):
        if discover is None:
            raise ConfigError(f"sources: {spec!r}: GitHub search needs network access and a token "
                              "(SEED_GITHUB_TOKEN or the Airflow connection github_default)")
        return discover.search(spec.removeprefix("github:"))
    m = _GITHUB.match(spec)
    if m:
        return [Source(repo=f"{m.group(1)}/{m.group(2)}", url=safe_url(spec), kind=GIT)]
    if re.match(r"^(https?|ssh|git)://", spec) or re.match(r"^[\w.-]+@[\w.-]+:", spec):
        name = _basename(urlsplit(spec).path or spec.rsplit(":", 1)[-1])
        return [Source(repo=f"remote/{name}", url=safe_url(spec), kind=GIT)]
    if spec.startswith("file://"):
        path = Path(urlsplit(spec).path)
    else:
        path = (base_dir / spec).resolve() if not Path(spec).is_absolute() else Path(spec)
    # A local source is checked here, before anything runs: a typo must not become an empty snapshot.
    if not path.exists():
        raise ConfigError(f"sources: {spec!r}: {path} does not exist (expected a git repository or a folder)")
    if not path.is_dir():
        raise ConfigError(f"sources: {spec!r}: {path} is a file, not a git repository or a folder "
                          "(a list of sources is given as @FILE)")
    kind = GIT if _is_git_repo(path) else FOLDER
    return [Source(repo=f"local/{_basename(str(path))}", url=path.resolve().as_uri(), kind=kind)]


def parse_specs(specs: list[str] | tuple[str, ...], base_dir: Path | None = None,
                discover: Discovery | None = None) -> list[Source]:
    """All SPECs -> sources, sorted by repo id; ids made unique so two folders named alike both survive.

    With `discover` (GitHub access), `github:QUERY` SPECs are searched and GitHub URLs get their metadata
    (stars, forks, licence) looked up.
    """
    sources: list[Source] = []
    for spec in specs:
        sources.extend(parse_spec(spec, base_dir, discover))
    if discover is not None:
        sources = [discover.enrich(s) for s in sources]
    seen: dict[str, Source] = {}
    for s in sources:
        if s.repo in seen and seen[s.repo].url == s.url:
            continue  # the same source listed twice
        if s.repo in seen:
            digest = hashlib.sha256(s.url.encode()).hexdigest()[:8]
            s = Source(repo=f"{s.repo}-{digest}", url=s.url, kind=s.kind)
        seen[s.repo] = s
    return sorted(seen.values(), key=lambda s: s.repo)


def _basename(path: str) -> str:
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return name[:-4] if name.endswith(".git") else (name or "repo")


def _is_git_repo(path: Path) -> bool:
    return (path / ".git").exists() or ((path / "HEAD").is_file() and (path / "objects").is_dir())


class Discovery:
    """GitHub-backed discovery and metadata for sources (see seedlib/sources/github.py)."""

    def __init__(self, client, selection):
        self.client, self.selection = client, selection

    def search(self, query: str) -> list[Source]:
        from seedlib.sources.github import GitHubError

        try:
            found = [m for m in self.client.search_repositories(query) if self.selection.accepts(m)]
        except GitHubError as e:
            raise ConfigError(f"sources: github:{query}: {e}") from None
        return [_from_meta(m) for m in found]

    def enrich(self, source: Source) -> Source:
        """Add GitHub metadata to a github.com source; leave others (and lookups that fail) as they are."""
        from seedlib.sources.github import GitHubError

        if source.stars is not None or not _GITHUB.match(source.url):
            return source
        try:
            return dataclasses.replace(_from_meta(self.client.repository(source.repo)), url=source.url)
        except GitHubError:
            return source  # the crawl will record the repository's own failure, if any


def _from_meta(meta: dict) -> Source:
    return Source(repo=meta["repo"], url=meta["url"], kind=GIT, stars=meta["stars"], forks=meta["forks"],
                  license=meta["license"], pushed_at=meta["pushed_at"])
