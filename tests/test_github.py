"""GitHub discovery against a local HTTP server on 127.0.0.1 replaying GitHub-shaped responses."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from seedlib.sources.github import GitHubClient, GitHubError, NotFound, Selection
from seedlib.storage import open_storage

TOKEN = "ghp_" + "Tk7" * 12


def repo_obj(full_name: str, stars: int = 10, forks: int = 2, spdx: str | None = "MIT", **extra) -> dict:
    return {"full_name": full_name, "clone_url": f"https://github.com/{full_name}.git",
            "stargazers_count": stars, "forks_count": forks,
            "license": {"spdx_id": spdx} if spdx else None, "default_branch": "main",
            "created_at": "2020-01-01T00:00:00Z", "pushed_at": "2026-01-01T00:00:00Z", "size": 100,
            "fork": False, "archived": False, **extra}


class Replay:
    """Routes: path -> list of (status, headers, body) served in order; the last one repeats."""

    def __init__(self):
        self.routes: dict[str, list[tuple[int, dict, bytes]]] = {}
        self.seen: list[tuple[str, dict]] = []
        replay = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                replay.seen.append((self.path, dict(self.headers)))
                path = urllib.parse.urlsplit(self.path).path
                key = self.path if self.path in replay.routes else path
                queue = replay.routes.get(key)
                if not queue:
                    status, headers, body = 404, {}, b'{"message": "Not Found"}'
                else:
                    status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v.replace("{base}", replay.base))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, status: int = 200, body=None, headers: dict | None = None):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.routes.setdefault(path, []).append((status, headers or {}, raw))


@pytest.fixture
def gh():
    replay = Replay()
    sleeps: list[float] = []
    client = GitHubClient(token=TOKEN, base_url=replay.base, sleep=sleeps.append, clock=lambda: 1_000_000.0)
    yield replay, client, sleeps
    replay.server.shutdown()


def test_repository_metadata_and_auth_header(gh):
    replay, client, _ = gh
    replay.add("/repos/o/r", body=repo_obj("o/r", stars=150, forks=12, spdx="Apache-2.0"))
    meta = client.repository("o/r")
    assert meta == {"repo": "o/r", "url": "https://github.com/o/r.git", "stars": 150, "forks": 12,
                    "license": "Apache-2.0", "default_branch": "main", "created_at": "2020-01-01T00:00:00Z",
                    "pushed_at": "2026-01-01T00:00:00Z", "size_kb": 100, "fork": False, "archived": False}
    path, headers = replay.seen[0]
    assert headers["Authorization"] == f"Bearer {TOKEN}" and TOKEN not in path


def test_primary_rate_limit_waits_until_reset(gh):
    replay, client, sleeps = gh
    replay.add("/repos/o/r", 403, {"message": "API rate limit exceeded"},
               {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1000030"})
    replay.add("/repos/o/r", body=repo_obj("o/r"))
    assert client.repository("o/r")["repo"] == "o/r"
    assert sleeps == [31.0] and client.requests_made == 2


def test_secondary_rate_limit_honours_retry_after(gh):
    replay, client, sleeps = gh
    replay.add("/repos/o/r", 429, {"message": "secondary rate limit"}, {"Retry-After": "7"})
    replay.add("/repos/o/r", 403, {"message": "secondary rate limit"}, {"Retry-After": "3"})
    replay.add("/repos/o/r", body=repo_obj("o/r"))
    assert client.repository("o/r")["repo"] == "o/r"
    assert sleeps == [7.0, 3.0]


def test_server_errors_are_retried_then_reported(gh):
    replay, client, sleeps = gh
    replay.add("/repos/o/flaky", 502, b"bad gateway")
    replay.add("/repos/o/flaky", body=repo_obj("o/flaky"))
    assert client.repository("o/flaky")["repo"] == "o/flaky" and sleeps == [2.0]
    replay.add("/repos/o/down", 500, {"message": "boom"})
    with pytest.raises(GitHubError, match=r"/repos/o/down: HTTP 500: boom \(retries exhausted\)"):
        client.repository("o/down")
    assert client.requests_made == 2 + client.max_attempts


def test_not_found_malformed_and_forbidden_are_clear_errors(gh):
    replay, client, _ = gh
    with pytest.raises(NotFound, match="/repos/o/missing: not found"):
        client.repository("o/missing")
    replay.add("/repos/o/garbled", body=b"{not json")
    with pytest.raises(GitHubError, match="malformed JSON"):
        client.repository("o/garbled")
    replay.add("/repos/o/odd", body={"full_name": "o/odd"})  # no clone_url
    with pytest.raises(GitHubError, match="malformed repository object"):
        client.repository("o/odd")
    replay.add("/repos/o/private", 403, {"message": "Resource not accessible"})
    with pytest.raises(GitHubError, match="HTTP 403: Resource not accessible") as e:
        client.repository("o/private")
    assert TOKEN not in str(e.value)


def test_pagination_follows_link_headers(gh):
    replay, client, _ = gh
    replay.add("/orgs/acme/repos?per_page=2", body=[repo_obj("acme/a"), repo_obj("acme/b")],
               headers={"Link": '<{base}/orgs/acme/repos?per_page=2&page=2>; rel="next", '
                                '<{base}/orgs/acme/repos?per_page=2&page=2>; rel="last"'})
    replay.add("/orgs/acme/repos?per_page=2&page=2", body=[repo_obj("acme/c")])
    names = [r["full_name"] for r in client.paginate("/orgs/acme/repos", {"per_page": 2})]
    assert names == ["acme/a", "acme/b", "acme/c"]


def test_etag_conditional_requests_on_recrawl(gh, tmp_path):
    replay, client, _ = gh
    client.cache = open_storage(tmp_path.as_uri())
    replay.add("/repos/o/r", body=repo_obj("o/r", stars=5), headers={"ETag": '"v1"'})
    replay.add("/repos/o/r", 304, b"", {"ETag": '"v1"'})
    first = client.repository("o/r")
    second = client.repository("o/r")
    assert first == second and second["stars"] == 5
    assert "If-None-Match" not in replay.seen[0][1] and replay.seen[1][1]["If-None-Match"] == '"v1"'


def test_search_splits_ranges_over_the_1000_cap(gh):
    replay, client, _ = gh
    full = "/search/repositories?" + urllib.parse.urlencode(
        {"q": "language:python created:2020-01-01..2020-01-04", "per_page": 100, "sort": "stars", "order": "desc"})
    replay.add(full, body={"total_count": 1500, "items": []})

    def half(lo, hi, names):
        path = "/search/repositories?" + urllib.parse.urlencode(
            {"q": f"language:python created:{lo}..{hi}", "per_page": 100, "sort": "stars", "order": "desc"})
        replay.add(path, body={"total_count": len(names), "items": [repo_obj(n) for n in names]})

    half("2020-01-01", "2020-01-02", ["a/one", "a/two"])
    half("2020-01-03", "2020-01-04", ["b/three"])
    found = list(client.search_repositories("language:python", (dt.date(2020, 1, 1), dt.date(2020, 1, 4))))
    assert [r["repo"] for r in found] == ["a/one", "a/two", "b/three"]


def test_selection_rules():
    sel = Selection(min_stars=100, min_forks=10)
    base = {"stars": 150, "forks": 20, "fork": False, "archived": False}
    assert sel.accepts(base)
    assert not sel.accepts(base | {"stars": 99})
    assert not sel.accepts(base | {"forks": 9})
    assert not sel.accepts(base | {"fork": True})
    assert Selection(include_archived=True).accepts(base | {"archived": True})


def test_github_specs_become_sources_with_metadata(gh):
    from seedlib.sources import Discovery, parse_specs

    replay, client, _ = gh
    client.clock = lambda: dt.datetime(2020, 1, 5, tzinfo=dt.timezone.utc).timestamp()
    search = "/search/repositories?" + urllib.parse.urlencode(
        {"q": "org:acme created:2008-01-01..2020-01-05", "per_page": 100, "sort": "stars", "order": "desc"})
    replay.add(search, body={"total_count": 3, "items": [
        repo_obj("acme/big", stars=500, forks=40), repo_obj("acme/small", stars=3),
        repo_obj("acme/fork", stars=900, fork=True)]})
    replay.add("/repos/psf/requests", body=repo_obj("psf/requests", stars=50000, forks=9000, spdx="Apache-2.0"))
    discover = Discovery(client, Selection(min_stars=10))
    sources = parse_specs(["github:org:acme", "https://github.com/psf/requests"], discover=discover)
    assert [(s.repo, s.stars, s.forks, s.license) for s in sources] == [
        ("acme/big", 500, 40, "MIT"), ("psf/requests", 50000, 9000, "Apache-2.0")]
    assert sources[1].url == "https://github.com/psf/requests"
