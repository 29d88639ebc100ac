"""Safe, read-only git access for crawled repositories.

Crawled code is data: we clone bare (no checkout, so no hooks, filters, LFS smudge or submodules run),
with system/global git configuration ignored, hooks disabled and no interactive prompts, and read blobs
straight from the object database.
"""

from __future__ import annotations

import contextlib
import os
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
        text = "\n".join(msg).lower()
        reason = ("corrupt" if "corrupt" in text or "missing" in text or "bad object" in text
                  else "unreachable" if args[0] in ("clone", "ls-remote") else "git_error")
        raise GitError(f"git {args[0]} failed: {msg[-1] if msg else 'exit ' + str(proc.returncode)}", reason)
    return proc.stdout


def clone_bare(url: str, dest: Path, timeout: float) -> None:
    run_git(["clone", "--bare", "--quiet", "--no-tags", "--single-branch", "--", url, str(dest)],
            timeout=timeout)


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
    size: int     # -1 for submodules


def list_tree(gitdir: Path, rev: str, timeout: float = 600) -> list[TreeEntry]:
    out = run_git(["ls-tree", "-r", "-l", "-z", "--full-tree", rev], cwd=gitdir, timeout=timeout)
    entries = []
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, path = record.split(b"\t", 1)
        mode, _type, sha, size = meta.split()
        entries.append(TreeEntry(path=path, mode=mode.decode(), sha=sha.decode(),
                                 size=int(size) if size != b"-" else -1))
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
