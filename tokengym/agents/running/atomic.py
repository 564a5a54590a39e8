"""Folders written atomically: staged beside their place, flushed, renamed in one step; leftovers cleaned up.

A folder is written into a staging folder beside its final place (``.<name>.tmp-<random>``, same file system),
flushed to disk, then moved in with ``os.replace``. Replacing a non-empty folder takes two renames, through
``.<name>.old-<random>``. A process killed in the middle leaves one of those folders behind and never a
half-written folder under the final name; the next write to the same place removes them
(:func:`remove_leftovers`). Checkpoints (:mod:`~tokengym.agents.running.checkpoint`) and ``tokengym sft``'s model
folders are written this way.

Example:
    >>> from pathlib import Path
    >>> staging = staging_folder(Path("out/model"))     # doctest: +SKIP
    >>> (staging / "weights.bin").write_bytes(b"...")   # doctest: +SKIP
    >>> fsync_tree(staging); move_into_place(staging, Path("out/model"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

# What staging_folder and move_into_place leave beside a target when a write is killed: ".<target>.tmp-<random>"
# (the new version being written) and ".<target>.old-<random>" (the replaced version, on its way out).
LEFTOVER = re.compile(r"\.(?P<target>.+)\.(?P<kind>tmp|old)-[A-Za-z0-9_]+")


def staging_folder(target: Path) -> Path:
    """A new empty folder beside ``target`` (same file system, so ``os.replace`` moves it in one step).

    It gets the permissions of an ordinary new folder (``mkdtemp`` alone makes it private to its owner). Staging
    folders of ``target`` left by killed writes, older than this one, are removed (:func:`remove_leftovers`).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    remove_leftovers(staging, [target.name])
    return staging


def remove_leftovers(staging: Path, targets: Iterable[str] = (), pattern: re.Pattern[str] | None = None) -> list[Path]:
    """Remove what killed writes left beside ``staging``: their staging folders, and replaced versions.

    Only folders named as :func:`staging_folder` and :func:`move_into_place` name them are touched, for the
    targets named (or whose names match ``pattern``), and only those last changed before ``staging`` was made:
    a write in progress keeps its folder. A replaced version (``.<target>.old-*``) goes only once its target is
    in place, since a write killed between its two renames leaves the only copy there.

    Args:
        staging: the current write's staging folder (kept).
        targets: the names of the targets whose leftovers go.
        pattern: also the leftovers of any target whose name matches it in full.

    Returns:
        The folders removed.
    """
    names = set(targets)
    cutoff = staging.stat().st_mtime_ns
    removed = []
    for path in staging.parent.iterdir():
        match = LEFTOVER.fullmatch(path.name)
        if path == staging or match is None:
            continue
        target = match["target"]
        if target not in names and not (pattern is not None and pattern.fullmatch(target)):
            continue
        if match["kind"] == "old" and not (staging.parent / target).is_dir():
            continue
        try:
            stat = path.lstat()
        except FileNotFoundError:
            continue
        # Real folders only (mkdtemp makes nothing else): a link or a file of that name is someone else's.
        if path.is_symlink() or not path.is_dir() or stat.st_mtime_ns >= cutoff:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def fsync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` (not recursive) and the folder itself to disk."""
    for path in folder.iterdir():
        if path.is_file():
            _fsync_file(path)
    _fsync_dir(folder)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_into_place(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder`` in one step, replacing what was there."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        # A rename cannot replace a non-empty folder: move the old one aside first, then drop it.
        retired = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old-", dir=folder.parent))
        os.replace(folder, retired / folder.name)
        os.replace(staging, folder)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, folder)
    _fsync_dir(folder.parent)
