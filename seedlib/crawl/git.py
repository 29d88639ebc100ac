"""Safe, read-only git access for crawled repositories.

Crawled code is data: we clone bare (no checkout, so no hooks, filters, LFS smudge or submodules run),
with system/global git configuration ignored, hooks disabled and no interactive prompts, and read blobs
straight from the object database.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


class GitError(Exception):
    """A git command failed; the message is safe to record (no credentials).

    `reason` is the short word counted in the manifest: unreachable, timeout, empty, corrupt, git_error.
    """

    def __init__(self, message: str, reason: str = "git_error"):
        super().__init__(message)
        self.reason = reason


# Applied to every git invocation: hooks off, no prompts, no user/system config, no protocol surprises.
_SAFE_CONFIG = ("-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
                "-c", "protocol.ext.allow=never", "-c", "credential.helper=")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null",
               GIT_ASKPASS="/bin/false", SSH_ASKPASS="/bin/false", GIT_LFS_SKIP_SMUDGE="1", LC_ALL="C")
    return env


def run_git(args: list[str], *, timeout: float, cwd: Path | None = None, input: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *_SAFE_CONFIG, *args], cwd=cwd, input=input, capture_output=True,
                              timeout=timeout, env=_env(), check=False)
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:.0f}s", "timeout") from None
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        line = _first_error(msg) or f"exit {proc.returncode}"
        # classified by what git said went wrong, not by the URLs and paths it quotes (any word may be in them)
        said = re.sub(r"'[^']*'", "", "\n".join(msg).lower())
        reason = ("corrupt" if any(w in said for w in ("corrupt", "missing", "bad object", "fsck"))
                  else "unreachable" if args[0] in ("clone", "ls-remote") else "git_error")
        raise GitError(f"git {args[0]} failed: {line}", reason)
    return proc.stdout


def _first_error(lines: list[str]) -> str | None:
    """The line of git's stderr that says what went wrong: its first `fatal:`/`error:` line (later lines
    are advice such as "Please make sure you have the correct access rights"), else the last line."""
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return _without_timings(line.split(":", 1)[1].strip())
    return _without_timings(lines[-1]) if lines else None


def _without_timings(line: str) -> str:
    """The message without curl's elapsed times ("Failed to connect ... after 1 ms"): the error is
    published in `repos`, and a rerun of a date must publish the same bytes."""
    return re.sub(r" after \d+ ms\b", "", line)


def clone_bare(url: str, dest: Path, timeout: float, blob_limit: int | None = None) -> None:
    """A bare clone of the default branch. With `blob_limit`, a partial clone where the remote allows it
    (GitHub does; a remote that does not simply sends everything): larger blobs are never downloaded."""
    args = ["clone", "--bare", "--quiet", "--no-tags", "--single-branch"]
    if blob_limit:
        args.append(f"--filter=blob:limit={blob_limit}")
    run_git([*args, "--", url, str(dest)], timeout=timeout)


def is_partial(gitdir: Path) -> bool:
    """True when the clone has promisor packs, i.e. objects may have been left on the remote (git marks
    the pack even when the server ignored the filter)."""
    return any((gitdir / "objects" / "pack").glob("*.promisor"))


def missing_objects(gitdir: Path, revs: list[str], timeout: float = 600) -> set[str]:
    """Objects reachable from `revs` that a partial clone did not download, listed without fetching."""
    out = run_git(["rev-list", "--objects", "--missing=print", *revs], cwd=gitdir, timeout=timeout)
    return {line[1:].split()[0].decode() for line in out.split(b"\n") if line.startswith(b"?")}


def head_sha(gitdir: Path, timeout: float = 60) -> str:
    try:
        return run_git(["rev-parse", "--verify", "HEAD^{commit}"], cwd=gitdir, timeout=timeout).decode().strip()
    except GitError:
        raise GitError("repository is empty (no commit at HEAD)", "empty") from None


@dataclass(frozen=True)
class TreeEntry:
    path: bytes   # raw bytes: git paths need not be UTF-8
    mode: str     # 100644, 100755, 120000 (symlink), 160000 (submodule)
    sha: str


def list_tree(gitdir: Path, rev: str, timeout: float = 600) -> list[TreeEntry]:
    # No `-l`: sizes would make a partial clone fetch every blob it left on the remote.
    out = run_git(["ls-tree", "-r", "-z", "--full-tree", rev], cwd=gitdir, timeout=timeout)
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, _type, sha = meta.split()
        entries.append(TreeEntry(path=path, mode=mode.decode(), sha=sha.decode()))
    return entries


def read_blobs(gitdir: Path, shas: list[str], timeout: float = 600) -> Iterator[tuple[str, bytes]]:
    """Yield (sha, content) for each blob, in order, through one `git cat-file --batch` process.

    A feeder thread writes the requests while we read the answers, so git never waits on us (a
    request/answer round trip per blob would cost a context switch per file).
    """
    if not shas:
        return
    proc = subprocess.Popen(["git", *_SAFE_CONFIG, "cat-file", "--batch"], cwd=gitdir, env=_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            bufsize=1 << 20)
    assert proc.stdin and proc.stdout
    stdin, stdout = proc.stdin, proc.stdout

    def feed() -> None:
        try:
            stdin.write("".join(f"{sha}\n" for sha in shas).encode())
        except (BrokenPipeError, ValueError):
            pass  # git died or we stopped reading; the reader reports it
        finally:
            with contextlib.suppress(OSError, ValueError):
                stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    try:
        for sha in shas:
            header = stdout.readline()
            parts = header.split()
            if len(parts) != 3:
                raise GitError(f"object {sha} is missing from the repository (corrupt clone?)", "corrupt")
            size = int(parts[2])
            data = stdout.read(size)
            stdout.read(1)  # trailing newline
            yield sha, data
    finally:
        stdout.close()  # if we stopped early, git gets SIGPIPE and exits
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        feeder.join(timeout=5)
