"""The TextWorld game cache heals itself: a damaged game folder, lock file or settings folder is regenerated.

Every damaged variant of a manifest or a game file is refused by ``load_game_files`` with a specific
:class:`~tokengym.envs.games.textworld_cache.BrokenGameError` and generated again by ``ensure_games`` with a
:class:`~tokengym.envs.games.textworld_cache.GameCacheWarning` saying what was repaired. The cache's mechanics run
with a fast stand-in generator; one test plays a real TextWorld game after its manifest was damaged.
"""

import json
import os
import shutil
import warnings
from pathlib import Path

import gymnasium as gym
import pytest

from tokengym.envs.games import textworld_cache as cache


class StandIn:
    """A fast stand-in for TextWorld's generator that records the seeds it makes."""

    def __init__(self) -> None:
        self.made: list[int] = []

    def __call__(self, challenge, settings, seed, out):
        self.made.append(seed)
        (out / "game.z8").write_bytes(b"Z" * 512 + str(seed).encode())
        (out / "game.json").write_text(json.dumps({"seed": seed}))
        return {"commands": ["go north", "look"], "max_score": 1, "walkthrough": ["look"]}


@pytest.fixture
def stand_in(monkeypatch):
    maker = StandIn()
    monkeypatch.setattr(cache, "_make_game_files", maker)
    return maker


def manifest_edit(change):
    def damage(folder: Path) -> None:
        path = folder / cache.MANIFEST
        manifest = json.loads(path.read_text())
        change(manifest)
        path.write_text(json.dumps(manifest))

    return damage


def game_file(name, data):
    return lambda folder: (folder / name).write_bytes(data)


def outside_link(folder: Path) -> None:
    outside = folder.parent.parent.parent / "outside.z8"
    shutil.copy(folder / "game.z8", outside)
    (folder / "game.z8").unlink()
    (folder / "game.z8").symlink_to(outside)


def fifo(folder: Path) -> None:
    (folder / "game.z8").unlink()
    os.mkfifo(folder / "game.z8")


DAMAGED_GAMES = [
    ('files "x"', manifest_edit(lambda m: m.update(files="x")), "'files' must be an object describing game.z8"),
    ("files missing", manifest_edit(lambda m: m.pop("files")), "'files' must be"),
    ('files entry "x"', manifest_edit(lambda m: m["files"].update({"game.z8": "x"})), "'files' must be"),
    ('size "12"', manifest_edit(lambda m: m["files"]["game.z8"].update(size="12")), "'files' must be"),
    ("sha256 null", manifest_edit(lambda m: m["files"]["game.z8"].update(sha256=None)), "'files' must be"),
    ("entry outside", manifest_edit(lambda m: m["files"].update({"../../x": {}})), "and nothing else"),
    ('commands "abc"', manifest_edit(lambda m: m.update(commands="abc")), "'commands' must be a list of strings"),
    ("commands [1, 2]", manifest_edit(lambda m: m.update(commands=[1, 2])), "'commands' must be a list of strings"),
    ('walkthrough "look"', manifest_edit(lambda m: m.update(walkthrough="look")), "'walkthrough' must be a list"),
    ("max_score 1.5", manifest_edit(lambda m: m.update(max_score=1.5)), "'max_score' must be an integer, not 1.5"),
    ("max_score true", manifest_edit(lambda m: m.update(max_score=True)), "'max_score' must be an integer"),
    ("seed '7'", manifest_edit(lambda m: m.update(seed="7")), "'seed' must be an integer"),
    ("settings []", manifest_edit(lambda m: m.update(settings=[])), "'settings' must be an object"),
    ("manifest []", game_file(cache.MANIFEST, b"[]"), "is not a tokengym game manifest"),
    ("manifest deep", game_file(cache.MANIFEST, b"[" * 100_000 + b"]" * 100_000), "unreadable: RecursionError"),
    ("manifest not UTF-8", game_file(cache.MANIFEST, b"\xff\xfe{}"), "unreadable: UnicodeDecodeError"),
    ("game.z8 zero bytes", game_file("game.z8", b""), "game.z8 is corrupt"),
    ("game.z8 symlink", outside_link, "game.z8 is missing or not a regular file"),
    ("game.z8 FIFO", fifo, "game.z8 is missing or not a regular file"),
]


@pytest.mark.parametrize(
    ("damage", "message"), [case[1:] for case in DAMAGED_GAMES], ids=[case[0] for case in DAMAGED_GAMES]
)
def test_a_damaged_game_folder_is_generated_again_with_a_warning(tmp_path, stand_in, damage, message):
    (game,) = cache.ensure_games("tw-coin_collector", {"level": 3}, [7], cache_dir=tmp_path)
    damage(game.folder)
    with pytest.raises(cache.BrokenGameError, match=message):
        cache.load_game_files(game.folder)
    with pytest.warns(cache.GameCacheWarning, match=f"repaired {game.folder} .*{message}"):
        (again,) = cache.ensure_games("tw-coin_collector", {"level": 3}, [7], cache_dir=tmp_path)
    assert again == game and stand_in.made == [7, 7]
    assert again.commands == ("go north", "look") and again.walkthrough == ("look",) and again.max_score == 1


def test_damaged_cache_folders_and_lock_files_are_replaced(tmp_path, stand_in):
    folder = cache.game_folder("tw-simple", {}, 5, tmp_path)
    folder.parent.parent.mkdir(parents=True)
    folder.parent.write_text("a file where the settings folder belongs")
    with pytest.warns(cache.GameCacheWarning, match="replaced the file .*default by a folder"):
        cache.ensure_games("tw-simple", {}, [5], cache_dir=tmp_path)
    shutil.rmtree(folder)
    lock = folder.parent / ".seed-5.lock"
    lock.unlink()
    lock.mkdir()
    with pytest.warns(cache.GameCacheWarning, match="replaced the folder .*seed-5.lock by a lock file"):
        cache.ensure_games("tw-simple", {}, [5], cache_dir=tmp_path)
    assert lock.is_file() and stand_in.made == [5, 5]
    root = tmp_path / "not-a-folder"
    root.write_text("x")
    with pytest.raises(ValueError, match="is not a folder"):
        cache.ensure_games("tw-simple", {}, [5], cache_dir=root)


def test_a_game_of_another_textworld_version_is_replaced_quietly(tmp_path, stand_in):
    (game,) = cache.ensure_games("tw-simple", {}, [5], cache_dir=tmp_path)
    manifest_edit(lambda m: m.update(textworld="0.0.1"))(game.folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", cache.GameCacheWarning)
        cache.ensure_games("tw-simple", {}, [5], cache_dir=tmp_path)
    assert stand_in.made == [5, 5]


@pytest.mark.skipif(not cache.textworld_version(), reason="needs the textworld extra")
@pytest.mark.filterwarnings("ignore:Game .* is not fully supported")
def test_a_real_env_with_a_wrongly_shaped_manifest_works_again(tmp_path, monkeypatch):
    kwargs = {"game_kwargs": {"pool_size": 1, "cache_dir": str(tmp_path / "cache")}}
    gym.make("TWCoinCollectorCmd-v0", **kwargs).close()
    (folder,) = tmp_path.glob("cache/tw-coin_collector/level-1/seed-*")
    shutil.copytree(folder, tmp_path / "made")
    facts = json.loads((folder / cache.MANIFEST).read_text())

    def same_game_again(challenge, settings, seed, out):  # TextWorld makes the same game again, only slower
        for name in cache.GAME_FILES:
            shutil.copy(tmp_path / "made" / name, out / name)
        return {key: facts[key] for key in ("commands", "max_score", "walkthrough", "objective")}

    monkeypatch.setattr(cache, "_make_game_files", same_game_again)
    manifest_edit(lambda m: m.update(files="x"))(folder)  # made the env unusable until deleted by hand
    with pytest.warns(cache.GameCacheWarning, match="'files' must be an object"):
        env = gym.make("TWCoinCollectorCmd-v0", **kwargs)
    env.reset(seed=0)
    env.close()
