"""Checkpoints of training runs: safetensors tensors and a JSON description, written atomically.

A checkpoint is a folder::

    step-000004096/
      policy.safetensors       the policy's state dict (tied weights stored once)
      optimizer.safetensors    the optimizer's per-parameter state (Adam moments and step counts)
      checkpoint.json          algorithm, env id and kwargs, model name, vocabulary size, seed, step,
                               KL coefficient state, policy and optimizer settings, library versions,
                               and the SHA-256 of both tensor files

Nothing is pickled: tensors load with ``safetensors.torch.load_file`` and everything else is JSON, so
opening a checkpoint never runs code. A checkpoint is written to a temporary folder beside its final
place, flushed to disk, then renamed in one step (``os.replace``), so a crash leaves either the old state
or the whole new checkpoint, never a half-written one under the final name. The checksums catch files
damaged later (truncated copies, partial syncs).

The weights alone do not make a model: the architecture and the tokenizer come from the base model named in
``checkpoint.json`` (``"tiny"``, a hub id or a local folder), which must still be loadable.

Example:
    >>> from tokengym.agents.running.checkpoint import latest_checkpoint, load_checkpoint
    >>> ckpt = load_checkpoint(latest_checkpoint("runs/ppo-dialogue"))       # doctest: +SKIP
    >>> ckpt.meta["algorithm"], ckpt.num_timesteps                            # doctest: +SKIP
    ('ppo', 4096)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

FORMAT = "tokengym.checkpoint"
FORMAT_VERSION = 1
CONFIG_FILE = "checkpoint.json"
POLICY_FILE = "policy.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
CHECKPOINTS_DIR = "checkpoints"
STEP_PREFIX = "step-"
REQUIRED_KEYS = {
    "algorithm": str,
    "env_id": str,
    "env_kwargs": dict,
    "model_name": str,
    "vocab_size": int,
    "seed": int,
    "num_timesteps": int,
    "policy_kwargs": dict,
}
VERSIONED_LIBRARIES = (
    "tokengym",
    "torch",
    "stable-baselines3",
    "sb3-contrib",
    "transformers",
    "safetensors",
    "gymnasium",
    "numpy",
)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, half-written, corrupted, or from another run."""


@dataclass
class Checkpoint:
    """A loaded checkpoint: where it was, its JSON description, and its tensors."""

    path: Path
    meta: dict[str, Any]
    policy_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None

    @property
    def num_timesteps(self) -> int:
        return int(self.meta["num_timesteps"])


# ------------------------------------------------------------------------------------------ tensors <-> JSON


def split_shared(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors stored once each, and the names that alias a stored tensor (tied embeddings).

    safetensors refuses tensors that share memory, and a tied language-model head is exactly that.
    """
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    seen: dict[tuple[int, int, tuple[int, ...], tuple[int, ...]], str] = {}
    for name, tensor in state.items():
        key = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape), tensor.stride())
        if tensor.numel() and key in seen:
            aliases[name] = seen[key]
            continue
        seen[key] = name
        tensors[name] = tensor.detach().cpu().contiguous().clone()
    return tensors, aliases


def optimizer_to_tensors(state: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """A ``torch.optim`` state dict as flat tensors (``state.<param>.<name>``) plus a JSON-safe rest."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for param, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{param}.{name}"] = value.detach().cpu().contiguous().clone()
            else:
                scalars.setdefault(str(param), {})[name] = value
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in group.items()} for group in state["param_groups"]]
    rest = {"param_groups": groups, "scalars": scalars}
    try:
        json.dumps(rest)
    except TypeError as err:
        raise TypeError(
            f"the optimizer's settings are not JSON-serialisable ({err}); use a torch.optim optimizer"
        ) from err
    return tensors, rest


def optimizer_from_tensors(tensors: Mapping[str, torch.Tensor], rest: Mapping[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`optimizer_to_tensors`: a state dict for ``optimizer.load_state_dict``."""
    state: dict[int, dict[str, Any]] = {}
    for key, tensor in tensors.items():
        _, param, name = key.split(".", 2)
        state.setdefault(int(param), {})[name] = tensor
    for param, values in rest.get("scalars", {}).items():
        state.setdefault(int(param), {}).update(values)
    groups = [
        {k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in group.items()}
        for group in rest["param_groups"]
    ]
    return {"state": state, "param_groups": groups}


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a checkpoint depends on."""
    versions = {}
    for name in VERSIONED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


# ------------------------------------------------------------------------------------------------- writing


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def staging_folder(target: Path) -> Path:
    """A new empty folder beside ``target`` (same file system, so ``os.replace`` moves it in one step).

    It gets the permissions of an ordinary new folder (``mkdtemp`` alone makes it private to its owner).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    return staging


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


def save_checkpoint(
    folder: str | os.PathLike[str],
    policy_state: Mapping[str, torch.Tensor],
    optimizer_state: Mapping[str, Any] | None,
    meta: Mapping[str, Any],
) -> Path:
    """Write a checkpoint folder atomically; returns its path.

    Args:
        folder: the checkpoint's folder (created; an existing checkpoint there is replaced whole).
        policy_state: the policy's ``state_dict()``.
        optimizer_state: the optimizer's ``state_dict()``, or ``None`` to store none.
        meta: the JSON description; must hold :data:`REQUIRED_KEYS`. Format, library versions and checksums
            are added here.
    """
    folder = Path(folder)
    missing = [key for key in REQUIRED_KEYS if key not in meta]
    if missing:
        raise ValueError(f"checkpoint description lacks {', '.join(missing)}")
    staging = staging_folder(folder)
    try:
        tensors, aliases = split_shared(policy_state)
        save_file(tensors, str(staging / POLICY_FILE))
        files = {POLICY_FILE: _sha256(staging / POLICY_FILE)}
        optimizer_rest = None
        if optimizer_state is not None:
            opt_tensors, optimizer_rest = optimizer_to_tensors(optimizer_state)
            save_file(opt_tensors, str(staging / OPTIMIZER_FILE))
            files[OPTIMIZER_FILE] = _sha256(staging / OPTIMIZER_FILE)
        description = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **meta,
            "tied_weights": aliases,
            "optimizer": optimizer_rest,
            "versions": library_versions(),
            "files": files,
        }
        (staging / CONFIG_FILE).write_text(json.dumps(description, indent=2, sort_keys=True) + "\n")
        fsync_tree(staging)
        move_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


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


# ------------------------------------------------------------------------------------------------- reading


def is_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a checkpoint folder, whole or damaged (holds any of a checkpoint's files)."""
    path = Path(path)
    return path.is_dir() and any((path / name).is_file() for name in (CONFIG_FILE, POLICY_FILE, OPTIMIZER_FILE))


def _read_meta(folder: Path) -> dict[str, Any]:
    config = folder / CONFIG_FILE
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint {str(folder)!r} does not exist")
    if not config.is_file():
        raise CheckpointError(
            f"{str(folder)!r} is not a complete checkpoint: {CONFIG_FILE} is missing (a half-written or "
            "hand-assembled folder?); delete it, or point to another checkpoint"
        )
    try:
        meta = json.loads(config.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"checkpoint {str(folder)!r}: {CONFIG_FILE} is not valid JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {str(folder)!r}: {CONFIG_FILE} is not a tokengym checkpoint description")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {str(folder)!r} has format version {meta.get('format_version')!r}; this tokengym reads "
            f"version {FORMAT_VERSION}"
        )
    for key, kind in REQUIRED_KEYS.items():
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise CheckpointError(
                f"checkpoint {str(folder)!r}: {CONFIG_FILE} lacks {key!r} (a {kind.__name__}), got {meta.get(key)!r}"
            )
    return meta


def _load_tensors(folder: Path, name: str, expected_sha: str | None) -> dict[str, torch.Tensor]:
    path = folder / name
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(folder)!r} is incomplete: {name} is missing")
    if expected_sha is not None and _sha256(path) != expected_sha:
        raise CheckpointError(
            f"checkpoint {str(folder)!r} is corrupted: {name} does not match the checksum in {CONFIG_FILE} "
            "(truncated or modified after it was written)"
        )
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"checkpoint {str(folder)!r} is corrupted: {name} cannot be read ({err})") from err


def load_checkpoint(folder: str | os.PathLike[str]) -> Checkpoint:
    """Read and verify a checkpoint: its JSON description, checksums, then the tensors (never pickles).

    Raises:
        CheckpointError: naming what is missing, malformed or corrupted.
    """
    folder = Path(folder)
    meta = _read_meta(folder)
    files = meta.get("files")
    if not isinstance(files, dict) or POLICY_FILE not in files:
        raise CheckpointError(f"checkpoint {str(folder)!r}: {CONFIG_FILE} lists no checksum for {POLICY_FILE}")
    policy_state = _load_tensors(folder, POLICY_FILE, files[POLICY_FILE])
    for alias, source in (meta.get("tied_weights") or {}).items():
        if source not in policy_state:
            raise CheckpointError(f"checkpoint {str(folder)!r}: tied weight {alias!r} points to missing {source!r}")
        policy_state[alias] = policy_state[source]
    optimizer_state = None
    if meta.get("optimizer") is not None:
        if OPTIMIZER_FILE not in files:
            raise CheckpointError(f"checkpoint {str(folder)!r}: {CONFIG_FILE} lists no checksum for {OPTIMIZER_FILE}")
        opt_tensors = _load_tensors(folder, OPTIMIZER_FILE, files[OPTIMIZER_FILE])
        try:
            optimizer_state = optimizer_from_tensors(opt_tensors, meta["optimizer"])
        except (KeyError, ValueError, TypeError, AttributeError) as err:
            raise CheckpointError(f"checkpoint {str(folder)!r}: the optimizer state is malformed ({err})") from err
    return Checkpoint(folder, meta, policy_state, optimizer_state)


def check_compatible(ckpt: Checkpoint, **expected: Any) -> None:
    """Raise when the checkpoint was made for something else (``algorithm=``, ``env_id=``, ``model_name=`` ...).

    Model names that are local folders compare by their resolved path.
    """
    mismatches = []
    for key, want in expected.items():
        have = ckpt.meta.get(key)
        if key == "model_name":
            have, want = same_model_key(str(have)), same_model_key(str(want))
        if have != want:
            mismatches.append(f"{key} is {ckpt.meta.get(key)!r} there, {expected[key]!r} here")
    if mismatches:
        raise CheckpointError(
            f"checkpoint {str(ckpt.path)!r} belongs to another run: " + "; ".join(mismatches) + ". Use the same "
            "settings as the run that wrote it, or start a new run in another --out folder"
        )


def same_model_key(name: str) -> str:
    """A model name in a form where two spellings of one local folder compare equal."""
    path = Path(name).expanduser()
    return str(path.resolve()) if path.exists() else name


# ---------------------------------------------------------------------------------------------- run folders


def checkpoint_folder(run_dir: str | os.PathLike[str], num_timesteps: int) -> Path:
    """Where a run keeps its checkpoint of step ``num_timesteps``."""
    return Path(run_dir) / CHECKPOINTS_DIR / f"{STEP_PREFIX}{num_timesteps:09d}"


def list_checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """A run's checkpoint folders, oldest step first (temporary and stray folders are left out)."""
    root = Path(run_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        step = path.name[len(STEP_PREFIX) :]
        if path.is_dir() and path.name.startswith(STEP_PREFIX) and step.isdigit():
            found.append((int(step), path))
    return [path for _, path in sorted(found)]


def latest_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The checkpoint of a run's highest step, or ``None`` when it has none."""
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path | None:
    """The checkpoint ``path`` names: itself, or a run folder's latest; ``None`` when it names neither.

    Raises:
        CheckpointError: for a run folder without any checkpoint.
    """
    path = Path(path)
    if is_checkpoint(path):
        return path
    if (path / CHECKPOINTS_DIR).is_dir():
        latest = latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(f"run folder {str(path)!r} holds no checkpoint yet")
        return latest
    return None
