"""Generated TextWorld games, cached on disk: one folder per challenge, settings and seed, written atomically.

A game is generated once with TextWorld's own challenge generators (``textworld.challenges``) and its Inform 7
compiler, then reused by every environment and process that asks for it::

    <root>/<challenge>/<settings>/seed-<seed>/game.z8        the compiled game (Z-machine)
                                             /game.json      TextWorld's description of the game
                                             /tokengym.json  the manifest, written last

``<root>`` is ``$TOKENGYM_CACHE_DIR/textworld`` when that variable is set, else
``$XDG_CACHE_HOME/tokengym/textworld``, else ``~/.cache/tokengym/textworld``. ``<settings>`` names the
challenge's settings, sorted (``level-3``, ``cook-1_cut-0_..._take-1``).

A folder counts only when its manifest has the manifest's shape (:data:`MANIFEST_FIELDS`), matches the key
(challenge, settings, seed, TextWorld's version, format) and the size and SHA-256 of each game file, a regular
file in the folder; anything else (a partial copy, a corrupt file, a damaged or hand-edited manifest, another
TextWorld version) is generated again; damage (not another version) gets a :class:`GameCacheWarning` saying
what was repaired. A game is generated into a temporary folder beside its final place and moved there with
``os.replace``, so a half-written game never sits in the cache. On POSIX systems a lock file per
game keeps two processes (``SubprocVecEnv`` workers) from generating the same game twice: a process that
finds a game locked generates the next missing one and comes back for it.

Example:
    >>> from tokengym.envs.games.textworld_cache import ensure_games
    >>> games = ensure_games("tw-coin_collector", {"level": 1}, seeds=[1, 2])  # doctest: +SKIP
    >>> games[0].game_file.name, games[0].commands[:2]  # doctest: +SKIP
    ('game.z8', ('drop coin', 'examine coin'))
"""

from __future__ import annotations

import contextlib
import functools
import importlib.metadata
import json
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tokengym.data.loaders import sha256_file

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the atomic move alone keeps the cache whole
    fcntl = None

CHALLENGES = ("tw-simple", "tw-coin_collector", "tw-treasure_hunter", "tw-cooking")
FORMAT = 1
MANIFEST = "tokengym.json"
GAME_FILES = ("game.z8", "game.json")
INSTALL_HINT = "pip install 'tokengym[textworld]'"
MAX_MANIFEST_BYTES = 64 << 20  # a cooking game's manifest, with every admissible command, is a few hundred kB
SHA256 = re.compile(r"[0-9a-f]{64}")
# The manifest's keys: the type each holds (checked in full before any is used) and whether it may be null.
MANIFEST_FIELDS: dict[str, tuple[str, bool]] = {
    "format": ("int", False),
    "textworld": ("str", True),
    "challenge": ("str", False),
    "settings": ("dict", False),
    "seed": ("int", False),
    "files": ("files", False),
    "commands": ("str_list", False),
    "max_score": ("int", False),
    "walkthrough": ("str_list", True),
}
FIELD_KINDS = {
    "int": "an integer",
    "str": "a string",
    "dict": "an object",
    "files": f"an object describing {' and '.join(GAME_FILES)} (each a size and a SHA-256), and nothing else",
    "str_list": "a list of strings",
}


class BrokenGameError(ValueError):
    """A game folder that is incomplete, corrupt, or made for another key (the cache generates it again)."""


class OtherGameError(BrokenGameError):
    """A sound game folder made for another key (another TextWorld version, say): replaced without a warning."""


class GameGenerationError(RuntimeError):
    """TextWorld could not generate or compile a game with these settings."""


class GameCacheWarning(UserWarning):
    """A damaged game folder (or lock file, or settings folder) of the cache was found and repaired."""


@dataclass(frozen=True)
class GameFiles:
    """One generated game in the cache.

    Attributes:
        folder: the game's folder.
        challenge: the TextWorld challenge (``tw-cooking``...).
        settings: the challenge's settings.
        seed: the generation seed.
        commands: every command the game can ever admit (TextWorld's ``possible_admissible_commands``), sorted.
        max_score: the game's maximum score.
        walkthrough: a winning command sequence, when TextWorld recorded one.
    """

    folder: Path
    challenge: str
    settings: Mapping[str, Any]
    seed: int
    commands: tuple[str, ...]
    max_score: int
    walkthrough: tuple[str, ...] | None

    @property
    def game_file(self) -> Path:
        """The compiled game (``game.z8``), what ``textworld.start`` plays."""
        return self.folder / "game.z8"


def import_textworld() -> ModuleType:
    """The ``textworld`` package, or an ``ImportError`` that names the extra to install."""
    try:
        import textworld
        import textworld.challenges
        import textworld.generator
    except ImportError as exc:
        raise ImportError(
            f"the TextWorld games need the textworld package ({exc}); install it with: {INSTALL_HINT}"
        ) from exc
    return textworld


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where games are cached: ``cache_dir`` if given, else from ``TOKENGYM_CACHE_DIR`` or ``XDG_CACHE_HOME``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    override = os.environ.get("TOKENGYM_CACHE_DIR")
    if override:
        return Path(override).expanduser() / "textworld"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "tokengym" / "textworld"


def check_challenge(challenge: str) -> None:
    if challenge not in CHALLENGES:
        raise ValueError(f"unknown TextWorld challenge {challenge!r}; the challenges are {', '.join(CHALLENGES)}")


def settings_slug(settings: Mapping[str, Any]) -> str:
    """The folder name of a challenge's settings: ``key-value`` pairs, sorted, joined by ``_``."""
    parts = []
    for key in sorted(settings):
        value = settings[key]
        value = int(value) if isinstance(value, bool) else value
        parts.append(f"{key}-{'none' if value is None else value}")
    return "_".join(parts) or "default"


def game_folder(
    challenge: str, settings: Mapping[str, Any], seed: int, cache_dir: str | os.PathLike | None = None
) -> Path:
    """The cache folder of one game (whether or not it exists yet)."""
    check_challenge(challenge)
    return cache_root(cache_dir) / challenge / settings_slug(settings) / f"seed-{int(seed)}"


@functools.cache
def textworld_version() -> str | None:
    """The installed TextWorld's version (part of every game's key: another version generates other games)."""
    try:
        return importlib.metadata.version("textworld")
    except importlib.metadata.PackageNotFoundError:
        return None


def _key(challenge: str, settings: Mapping[str, Any], seed: int) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "textworld": textworld_version(),
        "challenge": challenge,
        "settings": {k: settings[k] for k in sorted(settings)},
        "seed": int(seed),
    }


def load_game_files(folder: str | os.PathLike, key: Mapping[str, Any] | None = None) -> GameFiles:
    """Read and check a game folder.

    Args:
        folder: the folder holding ``game.z8``, ``game.json`` and the manifest.
        key: the manifest's expected key (challenge, settings, seed...); ``None`` accepts any.

    Raises:
        FileNotFoundError: the folder does not exist.
        BrokenGameError: no manifest (a partial folder), a manifest of the wrong shape or for another key, or a
            game file that is not a regular file or whose size or SHA-256 differs from the manifest's (a corrupt or
            truncated file).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no TextWorld game folder at {folder}")
    manifest = _read_manifest(folder)
    if key is not None:
        found = {k: manifest.get(k) for k in key}
        if found != dict(key):
            raise OtherGameError(f"{folder} holds another game ({found}), not {dict(key)}")
    for name in GAME_FILES:
        expected = manifest["files"][name]
        path = folder / name
        if path.is_symlink() or not path.is_file():
            raise BrokenGameError(f"{path} is missing or not a regular file")
        if path.stat().st_size != expected["size"] or sha256_file(path) != expected["sha256"]:
            raise BrokenGameError(f"{path} is corrupt: its size or checksum differs from the manifest's")
    walkthrough = manifest.get("walkthrough")
    return GameFiles(
        folder=folder,
        challenge=manifest["challenge"],
        settings=dict(manifest["settings"]),
        seed=manifest["seed"],
        commands=tuple(manifest["commands"]),
        max_score=manifest["max_score"],
        walkthrough=None if walkthrough is None else tuple(walkthrough),
    )


def _read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest, parsed and checked against :data:`MANIFEST_FIELDS`; else :class:`BrokenGameError`."""
    path = folder / MANIFEST
    try:
        if path.stat().st_size > MAX_MANIFEST_BYTES:
            raise BrokenGameError(f"{path} is too large to be a game manifest")
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BrokenGameError(f"{folder} has no {MANIFEST}: the game was not completely written") from None
    except (OSError, ValueError, RecursionError) as exc:  # RecursionError: nested deeper than any manifest
        raise BrokenGameError(f"{path} is unreadable: {type(exc).__name__}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise BrokenGameError(f"{path} is not a tokengym game manifest")
    for key, (kind, nullable) in MANIFEST_FIELDS.items():
        value = manifest.get(key)
        if not (value is None and nullable and key in manifest) and not _has_kind(value, kind):
            raise BrokenGameError(f"{path}: {key!r} must be {FIELD_KINDS[kind]}, not {_short(value)}")
    return manifest


def _has_kind(value: Any, kind: str) -> bool:
    if kind == "int":
        return type(value) is int
    if kind == "str":
        return type(value) is str
    if kind == "dict":
        return isinstance(value, dict)
    if kind == "str_list":
        return isinstance(value, list) and all(type(item) is str for item in value)
    # files: exactly the game's files, so no entry can name anything outside the folder
    return (
        isinstance(value, dict)
        and set(value) == set(GAME_FILES)
        and all(
            isinstance(entry, dict)
            and type(entry.get("size")) is int
            and entry["size"] >= 0
            and type(entry.get("sha256")) is str
            and SHA256.fullmatch(entry["sha256"]) is not None
            for entry in value.values()
        )
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def ensure_games(
    challenge: str,
    settings: Mapping[str, Any],
    seeds: Sequence[int],
    cache_dir: str | os.PathLike | None = None,
) -> list[GameFiles]:
    """The games of ``seeds``, from the cache, generating (or repairing) those it lacks.

    Raises:
        ValueError: an unknown challenge, or a cache location that is not a folder.
        ImportError: a game must be generated and ``textworld`` is not installed.
        GameGenerationError: TextWorld failed to generate or compile a game.
    """
    check_challenge(challenge)
    settings = dict(settings)
    found: dict[int, GameFiles] = {}
    missing: list[int] = []
    for seed in seeds:
        try:
            folder = game_folder(challenge, settings, seed, cache_dir)
            found[seed] = load_game_files(folder, _key(challenge, settings, seed))
        except (FileNotFoundError, BrokenGameError):
            missing.append(seed)
    if missing:
        import_textworld()
    deferred = []
    for seed in missing:  # first pass: the games no other process is generating now
        folder = game_folder(challenge, settings, seed, cache_dir)
        with _locked(folder, blocking=False) as mine:
            if mine:
                found[seed] = _load_or_generate(challenge, settings, seed, folder)
            else:
                deferred.append(seed)
    for seed in deferred:  # then wait for the others' and check them (or generate them, had they failed)
        folder = game_folder(challenge, settings, seed, cache_dir)
        with _locked(folder, blocking=True):
            found[seed] = _load_or_generate(challenge, settings, seed, folder)
    return [found[seed] for seed in seeds]


@contextlib.contextmanager
def _locked(folder: Path, blocking: bool) -> Iterator[bool]:
    """Hold the lock of ``folder``'s game; yields whether it was acquired (always, when ``blocking``)."""
    _make_parents(folder)
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    lock = folder.parent / f".{folder.name}.lock"
    if lock.is_dir() and not lock.is_symlink():
        shutil.rmtree(lock, ignore_errors=True)
        warnings.warn(
            f"TextWorld game cache: replaced the folder {lock} by a lock file", GameCacheWarning, stacklevel=3
        )
    with open(lock, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_parents(folder: Path) -> None:
    """Make the challenge and settings folders above ``folder``, replacing a file that sits where one belongs."""
    for parent in (folder.parent.parent, folder.parent):
        if (parent.exists() or parent.is_symlink()) and not parent.is_dir():
            parent.unlink()  # only the cache writes here: a file in a folder's place is damage, not data
            warnings.warn(
                f"TextWorld game cache: replaced the file {parent} by a folder", GameCacheWarning, stacklevel=4
            )
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ValueError(
            f"the TextWorld game cache {folder.parents[2]} is not a folder ({exc}); point the cache "
            "elsewhere (TOKENGYM_CACHE_DIR, or cache_dir=)"
        ) from exc


def _load_or_generate(challenge: str, settings: dict[str, Any], seed: int, folder: Path) -> GameFiles:
    key = _key(challenge, settings, seed)
    damage = None
    try:
        return load_game_files(folder, key)  # another process may have made it meanwhile
    except (FileNotFoundError, OtherGameError):  # not there yet, or made by another TextWorld: no damage
        pass
    except BrokenGameError as exc:
        damage = str(exc)
    if fcntl is not None:  # under the lock, temporary folders of this game were left by dead processes
        for stale in folder.parent.glob(f".{folder.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
    game = _generate(challenge, settings, seed, folder)
    if damage is not None:  # under the lock and written atomically: a broken folder here is damage, not work
        what = damage.replace(f"{folder}{os.sep}", "").replace(f"{folder} ", "the folder ")
        warnings.warn(
            f"TextWorld game cache: repaired {folder} ({what}) by generating it again", GameCacheWarning, stacklevel=3
        )
    return game


def _generate(challenge: str, settings: dict[str, Any], seed: int, folder: Path) -> GameFiles:
    """Generate one game into a temporary folder beside ``folder``, then move it into place."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
    try:
        try:
            info = _make_game_files(challenge, settings, seed, tmp)
        except Exception as exc:
            raise GameGenerationError(
                f"TextWorld could not generate {challenge} with settings {settings} and seed {seed}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        files = {}
        for name in GAME_FILES:
            path = tmp / name
            _fsync(path)
            files[name] = {"size": path.stat().st_size, "sha256": sha256_file(path)}
        manifest = {**_key(challenge, settings, seed), "files": files, **info}
        with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        _install(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return load_game_files(folder, _key(challenge, settings, seed))


def _install(tmp: Path, folder: Path) -> None:
    """Move the finished ``tmp`` to ``folder``, first moving aside a broken folder that sits there."""
    if folder.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=folder.parent))
        os.replace(folder, trash / "broken")
        shutil.rmtree(trash, ignore_errors=True)
    try:
        os.replace(tmp, folder)
    except OSError:
        # Another process (without a lock: Windows) installed the same game meanwhile; keep theirs if sound.
        load_game_files(folder)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _make_game_files(challenge: str, settings: dict[str, Any], seed: int, out: Path) -> dict[str, Any]:
    """Generate and compile one game into ``out`` (``game.z8``, ``game.json``); return the manifest's facts."""
    textworld = import_textworld()
    _, make, _ = textworld.challenges.CHALLENGES[challenge]
    options = textworld.GameOptions()
    options.seeds = int(seed)
    options.path = str(out / "game.z8")
    options.file_ext = ".z8"
    options.force_recompile = True
    game = make(settings=dict(settings), options=options)
    textworld.generator.compile_game(game, options)
    (out / "game.ni").unlink(missing_ok=True)  # the Inform 7 source: not needed to play
    walkthrough = game.metadata.get("walkthrough")
    return {
        "commands": sorted(set(game.possible_admissible_commands)),
        "max_score": int(game.max_score),
        "walkthrough": None if walkthrough is None else [str(c) for c in walkthrough],
        "objective": game.objective,
    }
