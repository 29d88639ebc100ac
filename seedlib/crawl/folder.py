"""Reading a plain local folder as a repository: regular files only, symlinks never followed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


@dataclass(frozen=True)
class FolderEntry:
    path: bytes        # relative path, raw bytes
    abspath: bytes
    is_symlink: bool


def walk(root: Path) -> Iterator[FolderEntry]:
    """Every non-directory entry under root, sorted, skipping VCS metadata folders. No symlink is followed."""
    root_b = os.fsencode(root)
    stack = [b""]
    out: list[FolderEntry] = []
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(root_b, rel) if rel else root_b) as it:
            for entry in it:
                relpath = os.path.join(rel, entry.name) if rel else entry.name
                if entry.is_symlink():
                    out.append(FolderEntry(relpath, entry.path, True))
                elif entry.is_dir(follow_symlinks=False):
                    if entry.name not in (b".git", b".hg", b".svn"):
                        stack.append(relpath)
                elif entry.is_file(follow_symlinks=False):
                    out.append(FolderEntry(relpath, entry.path, False))
    yield from sorted(out, key=lambda e: e.path)
