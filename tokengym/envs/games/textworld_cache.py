"""Generated TextWorld games, cached on disk: one folder per challenge, settings and seed, written atomically.

A game is generated once with TextWorld's own challenge generators (``textworld.challenges``) and its Inform 7
compiler, then reused by every environment and process that asks for it::

    <root>/<challenge>/<settings>/seed-<seed>/game.z8        the compiled game (Z-machine)
                                             /game.json      TextWorld's description of the game
                                             /tokengym.json  the manifest, written last

``<root>`` is ``$TOKENGYM_CACHE_DIR/textworld`` when that variable is set, else
``$XDG_CACHE_HOME/tokengym/textworld``, else ``~/.cache/tokengym/textworld``. ``<settings>`` names the
challenge's settings, sorted (``level-3``, ``cook-1_cut-0_..._take-1``).

A folder counts only when its manifest matches the key (challenge, settings, seed, TextWorld's version, format)
and the size and SHA-256 of each game file; anything else (a partial copy, a corrupt file, another TextWorld
version) is generated again. A game is generated into a temporary folder beside its final place and moved
there with ``os.replace``, so a half-written game never sits in the cache. On POSIX systems a lock file per
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
import hashlib
import importlib.metadata
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the atomic move alone keeps the cache whole
    fcntl = None

CHALLENGES = ("tw-simple", "tw-coin_collector", "tw-treasure_hunter", "tw-cooking")
FORMAT = 1
MANIFEST = "tokengym.json"
GAME_FILES = ("game.z8", "game.json")
INSTALL_HINT = "pip install 'tokengym[textworld]'"


class BrokenGameError(ValueError):
    """A game folder that is incomplete, corrupt, or made for another key (the cache generates it again)."""


class GameGenerationError(RuntimeError):
    """TextWorld could not generate or compile a game with these settings."""


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


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest()


def load_game_files(folder: str | os.PathLike, key: Mapping[str, Any] | None = None) -> GameFiles:
    """Read and check a game folder.

    Args:
        folder: the folder holding ``game.z8``, ``game.json`` and the manifest.
        key: the manifest's expected key (challenge, settings, seed...); ``None`` accepts any.

    Raises:
        FileNotFoundError: the folder does not exist.
        BrokenGameError: no manifest (a partial folder), a manifest for another key, or a game file whose size
            or SHA-256 differs from the manifest's (a corrupt or truncated file).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no TextWorld game folder at {folder}")
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BrokenGameError(f"{folder} has no {MANIFEST}: the game was not completely written") from None
    except (OSError, ValueError) as exc:
        raise BrokenGameError(f"{folder / MANIFEST} is unreadable: {exc}") from exc
    if not isinstance(manifest, dict):
        raise BrokenGameError(f"{folder / MANIFEST} is not a tokengym game manifest")
    if key is not None:
        found = {k: manifest.get(k) for k in key}
        if found != dict(key):
            raise BrokenGameError(f"{folder} holds another game ({found}), not {dict(key)}")
    for name in GAME_FILES:
        expected = manifest.get("files", {}).get(name)
        path = folder / name
        if not isinstance(expected, dict):
            raise BrokenGameError(f"{folder / MANIFEST} does not describe {name}")
        if not path.is_file():
            raise BrokenGameError(f"{path} is missing")
        if path.stat().st_size != expected.get("size") or _digest(path) != expected.get("sha256"):
            raise BrokenGameError(f"{path} is corrupt: its size or checksum differs from the manifest's")
    try:
        return GameFiles(
            folder=folder,
            challenge=str(manifest["challenge"]),
            settings=dict(manifest["settings"]),
            seed=int(manifest["seed"]),
            commands=tuple(manifest["commands"]),
            max_score=int(manifest["max_score"]),
            walkthrough=None if manifest.get("walkthrough") is None else tuple(manifest["walkthrough"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokenGameError(f"{folder / MANIFEST} lacks a field: {exc}") from exc


def ensure_games(
    challenge: str,
    settings: Mapping[str, Any],
    seeds: Sequence[int],
    cache_dir: str | os.PathLike | None = None,
) -> list[GameFiles]:
    """The games of ``seeds``, from the cache, generating (or repairing) those it lacks.

    Raises:
        ValueError: an unknown challenge.
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
    folder.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - Windows
        yield True
        return
    with open(folder.parent / f".{folder.name}.lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _load_or_generate(challenge: str, settings: dict[str, Any], seed: int, folder: Path) -> GameFiles:
    key = _key(challenge, settings, seed)
    try:
        return load_game_files(folder, key)  # another process may have made it meanwhile
    except (FileNotFoundError, BrokenGameError):
        pass
    if fcntl is not None:  # under the lock, temporary folders of this game were left by dead processes
        for stale in folder.parent.glob(f".{folder.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
    return _generate(challenge, settings, seed, folder)


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
            files[name] = {"size": path.stat().st_size, "sha256": _digest(path)}
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
