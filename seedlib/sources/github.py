"""Repository discovery through the GitHub REST API.

`GitHubClient` is a small, explicit client (stdlib urllib: we need exact control of conditional requests
and rate-limit headers more than a generic SDK): token auth, pagination by `Link: rel="next"`, ETag
conditional requests backed by a cache on the storage root (a 304 does not count against the rate limit),
waiting out the primary rate limit (`X-RateLimit-Remaining: 0` until `X-RateLimit-Reset`), the secondary
limits (403/429 with `Retry-After`), retries with backoff on 5xx, and clear errors for 404 and malformed
bodies. `search_repositories` splits a query by creation-date ranges when it hits search's 1,000-result cap.

The token is only ever put in the Authorization header: never in URLs, errors or logs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from seedlib.sections import GITHUB_API_URL
from seedlib.storage import Storage

API = GITHUB_API_URL
SEARCH_CAP = 1000


class GitHubError(RuntimeError):
    """A request failed for good (not found, malformed, retries exhausted). Never contains the token."""


class NotFound(GitHubError):
    pass


@dataclass
class GitHubClient:
    token: str | None = None
    base_url: str = API
    cache: Storage | None = None           # ETag cache (keys under github-cache/)
    max_attempts: int = 6
    max_wait_s: float = 3600.0             # longest single wait for a rate-limit reset
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    requests_made: int = field(default=0, init=False)
    waited_s: float = field(default=0.0, init=False)

    # -- one request -------------------------------------------------------------------------------
    def get(self, path_or_url: str, params: dict[str, Any] | None = None) -> tuple[Any, dict[str, str]]:
        url = path_or_url if path_or_url.startswith("http") else self.base_url.rstrip("/") + path_or_url
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
        cached = self._cache_get(url)
        for attempt in range(1, self.max_attempts + 1):
            request = urllib.request.Request(url, headers=self._headers(cached))
            self.requests_made += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as resp:
                    body, headers = resp.read(), {k.lower(): v for k, v in resp.headers.items()}
                    status = resp.status
            except urllib.error.HTTPError as e:
                body, headers, status = e.read(), {k.lower(): v for k, v in e.headers.items()}, e.code
            except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
                if attempt == self.max_attempts:
                    raise GitHubError(f"GET {_public(url)}: cannot connect ({getattr(e, 'reason', e)})") from None
                self._wait(min(60.0, 2.0 ** attempt), "connection error")
                continue
            if status == 304 and cached is not None:
                return cached["body"], headers
            if status == 200:
                data = _json(body, url)
                if "etag" in headers:
                    self._cache_put(url, headers["etag"], data)
                return data, headers
            if status == 404:
                raise NotFound(f"GET {_public(url)}: not found (404)")
            wait = self._retry_after(status, headers)
            if wait is None or attempt == self.max_attempts:
                message = _message(body)
                raise GitHubError(f"GET {_public(url)}: HTTP {status}{': ' + message if message else ''}"
                                  f"{' (retries exhausted)' if wait is not None else ''}")
            self._wait(wait, f"HTTP {status}")
        raise AssertionError("unreachable")

    def _headers(self, cached: dict | None) -> dict[str, str]:
        h = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
             "User-Agent": "seed-data-crawler"}
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        if cached is not None:
            h["If-None-Match"] = cached["etag"]
        return h

    def _retry_after(self, status: int, headers: dict[str, str]) -> float | None:
        """Seconds to wait before retrying, or None if the status is not retryable."""
        if status in (403, 429):
            if "retry-after" in headers:                       # secondary rate limit
                return float(headers["retry-after"])
            if headers.get("x-ratelimit-remaining") == "0":     # primary rate limit
                reset = float(headers.get("x-ratelimit-reset", self.clock() + 60))
                return max(1.0, reset - self.clock() + 1)
            return None if status == 403 else 60.0
        if status >= 500:
            return 2.0
        return None

    def _wait(self, seconds: float, why: str) -> None:
        if seconds > self.max_wait_s:
            raise GitHubError(f"GitHub asks to wait {seconds:.0f}s ({why}), more than max_wait_s={self.max_wait_s:.0f}")
        self.waited_s += seconds
        self.sleep(seconds)

    # -- ETag cache ----------------------------------------------------------------------------------
    def _cache_key(self, url: str) -> str:
        # The token is not part of the URL, so one cache serves every token.
        return f"github-cache/{hashlib.sha256(url.encode()).hexdigest()}.json"

    def _cache_get(self, url: str) -> dict | None:
        if self.cache is None:
            return None
        key = self._cache_key(url)
        return self.cache.read_json(key) if self.cache.exists(key) else None

    def _cache_put(self, url: str, etag: str, data: Any) -> None:
        if self.cache is not None:
            self.cache.write_json(self._cache_key(url), {"etag": etag, "body": data})

    # -- listings ------------------------------------------------------------------------------------
    def paginate(self, path: str, params: dict[str, Any] | None = None, items_key: str | None = None
                 ) -> Iterator[Any]:
        url: str | None = path
        first = True
        while url:
            data, headers = self.get(url, params if first else None)
            first = False
            items = data.get(items_key, []) if items_key else data
            if not isinstance(items, list):
                raise GitHubError(f"GET {_public(url)}: expected a list of results")
            yield from items
            url = _next_link(headers.get("link", ""))

    def repository(self, full_name: str) -> dict:
        data, _ = self.get(f"/repos/{full_name}")
        return repo_metadata(data)

    def search_repositories(self, query: str, created: tuple[dt.date, dt.date] | None = None) -> Iterator[dict]:
        """All repositories matching `query`, splitting by creation date while a range exceeds the cap."""
        lo, hi = created or (dt.date(2008, 1, 1), dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc).date())
        q = f"{query} created:{lo.isoformat()}..{hi.isoformat()}"
        first, _ = self.get("/search/repositories", {"q": q, "per_page": 100, "sort": "stars", "order": "desc"})
        total = first.get("total_count") if isinstance(first, dict) else None
        if not isinstance(total, int):
            raise GitHubError("search/repositories: response has no total_count")
        if total > SEARCH_CAP and lo < hi:
            mid = lo + (hi - lo) // 2
            yield from self.search_repositories(query, (lo, mid))
            yield from self.search_repositories(query, (mid + dt.timedelta(days=1), hi))
            return
        for item in self.paginate("/search/repositories", {"q": q, "per_page": 100, "sort": "stars",
                                                           "order": "desc"}, items_key="items"):
            yield repo_metadata(item)


@dataclass(frozen=True)
class Selection:
    """Which discovered repositories to crawl."""

    min_stars: int = 0
    min_forks: int = 0
    include_forks: bool = False
    include_archived: bool = False

    def accepts(self, meta: dict) -> bool:
        return ((meta["stars"] or 0) >= self.min_stars and (meta["forks"] or 0) >= self.min_forks
                and (self.include_forks or not meta["fork"]) and (self.include_archived or not meta["archived"]))


def repo_metadata(data: Any) -> dict:
    """The fields we keep from a GitHub repository object."""
    try:
        license_ = data.get("license") or {}
        return {
            "repo": data["full_name"],
            "url": data["clone_url"],
            "stars": int(data.get("stargazers_count", 0)),
            "forks": int(data.get("forks_count", 0)),
            "license": license_.get("spdx_id") if isinstance(license_, dict) else None,
            "default_branch": data.get("default_branch"),
            "created_at": data.get("created_at"),
            "pushed_at": data.get("pushed_at"),
            "size_kb": int(data.get("size", 0)),
            "fork": bool(data.get("fork", False)),
            "archived": bool(data.get("archived", False)),
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise GitHubError("malformed repository object in GitHub response") from None


def _json(body: bytes, url: str) -> Any:
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise GitHubError(f"GET {_public(url)}: malformed JSON in response") from None


def _message(body: bytes) -> str:
    try:
        return str(json.loads(body).get("message", ""))[:200]
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return ""


def _next_link(link: str) -> str | None:
    m = re.search(r'<([^>]+)>;\s*rel="next"', link)
    return m.group(1) if m else None


def _public(url: str) -> str:
    """A URL fit for messages: no query string values that could carry anything sensitive."""
    return url.split("?", 1)[0]
