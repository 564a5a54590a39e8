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
damaged later (truncated copies, partial syncs), and ``checkpoint.json`` is checked against a schema
(:mod:`~tokengym.agents.running.checkpoint_schema`) before anything in it is used. A write that was killed leaves
only its staging folder (``.step-N.tmp-*``), which the next write into the same folder removes.

A run folder's newest checkpoint is the one a run folder names (``tokengym eval --model RUN``, ``--resume``): a
newer step folder that holds no checkpoint (empty) is skipped with a warning, and evaluation also skips damaged
ones; resuming refuses a damaged newest checkpoint instead (resuming from an older one would overwrite it) and
names the newest valid one to fall back to.

The weights alone do not make a model: the architecture and the tokenizer come from the base model named in
``checkpoint.json`` (``"tiny"``, a hub id or a local folder), which must still be loadable.

Example:
    >>> from tokengym.agents.running.checkpoint import latest_checkpoint, load_checkpoint
    >>> ckpt = load_checkpoint(latest_checkpoint("runs/ppo-dialogue"))       # doctest: +SKIP
    >>> ckpt.meta["algorithm"], ckpt.num_timesteps                            # doctest: +SKIP
    ('ppo', 4096)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from tokengym.agents.running.atomic import (
    fsync_tree,
    move_into_place,
    remove_leftovers,
    staging_folder,
)
from tokengym.agents.running.checkpoint_schema import (
    CONFIG_FILE,
    FORMAT,
    FORMAT_VERSION,
    MAX_DESCRIPTION_BYTES,
    OPTIMIZER_FILE,
    POLICY_FILE,
    CheckpointError,
    check_description,
    parse_description,
)
from tokengym.data.loaders import sha256_file

# Re-exported: the file names, format and error of a checkpoint, and the atomic writing it uses.
__all__ = [
    "CONFIG_FILE",
    "FORMAT",
    "FORMAT_VERSION",
    "OPTIMIZER_FILE",
    "POLICY_FILE",
    "CheckpointError",
    "fsync_tree",
    "move_into_place",
    "staging_folder",
]

CHECKPOINTS_DIR = "checkpoints"
STEP_PREFIX = "step-"
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
STEP_NAME = re.compile(re.escape(STEP_PREFIX) + r"[0-9]+")


class CheckpointWarning(UserWarning):
    """A run folder's newest step folder was skipped (empty or damaged) in favour of an older checkpoint."""


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
        meta: the JSON description, as :data:`~.checkpoint_schema.FIELDS` describes it (``algorithm``,
            ``env_id``...). Format, tied weights, optimizer settings, library versions and checksums are added here.

    Raises:
        CheckpointError: a description that breaks the schema, or tensors that hold NaN; nothing is written then.
    """
    folder = Path(folder)
    # Everything is checked before the first byte is written: a model that diverged is never saved.
    tensors, aliases = split_shared(policy_state)
    opt_tensors, optimizer_rest = optimizer_to_tensors(optimizer_state) if optimizer_state is not None else ({}, None)
    for kind, found in (("policy", tensors), ("optimizer", opt_tensors)):
        bad = first_nan(found)
        if bad is not None:
            raise CheckpointError(
                f"refusing to write checkpoint {str(folder)!r}: the {kind} tensor {bad!r} holds NaN (training "
                "diverged: lower the learning rate, or resume from an earlier checkpoint)"
            )
    files = {POLICY_FILE: "0" * 64, **({OPTIMIZER_FILE: "0" * 64} if optimizer_state is not None else {})}
    description = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        **meta,
        "tied_weights": aliases,
        "optimizer": optimizer_rest,
        "versions": library_versions(),
        "files": files,
    }
    check_description(description, str(folder))
    try:
        json.dumps(description, allow_nan=False)
    except ValueError as err:
        raise CheckpointError(
            f"refusing to write checkpoint {str(folder)!r}: its description holds a non-finite number ({err})"
        ) from None
    staging = staging_folder(folder)
    try:
        if STEP_NAME.fullmatch(folder.name):  # a run's checkpoints folder: any step's killed write goes
            remove_leftovers(staging, pattern=STEP_NAME)
        save_file(tensors, str(staging / POLICY_FILE))
        files[POLICY_FILE] = sha256_file(staging / POLICY_FILE)
        if optimizer_state is not None:
            save_file(opt_tensors, str(staging / OPTIMIZER_FILE))
            files[OPTIMIZER_FILE] = sha256_file(staging / OPTIMIZER_FILE)
        text = json.dumps(description, indent=2, sort_keys=True, allow_nan=False)
        (staging / CONFIG_FILE).write_text(text + "\n")
        fsync_tree(staging)
        move_into_place(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return folder


def first_nan(tensors: Mapping[str, torch.Tensor]) -> str | None:
    """The name of the first floating-point tensor that holds NaN, or ``None``.

    Infinities are allowed: some models keep ``-inf`` in mask buffers, but no trained value is ever NaN.
    """
    for name, tensor in tensors.items():
        if (tensor.is_floating_point() or tensor.is_complex()) and bool(torch.isnan(tensor).any()):
            return name
    return None


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
    if config.stat().st_size > MAX_DESCRIPTION_BYTES:
        raise CheckpointError(f"checkpoint {str(folder)!r}: {CONFIG_FILE} is too large to be a checkpoint description")
    try:
        text = config.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise CheckpointError(f"checkpoint {str(folder)!r}: {CONFIG_FILE} is not valid JSON ({err})") from err
    meta = parse_description(text, str(folder))
    check_description(meta, str(folder))
    return meta


def _load_tensors(folder: Path, name: str, expected_sha: str) -> dict[str, torch.Tensor]:
    path = folder / name
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(folder)!r} is incomplete: {name} is missing")
    if sha256_file(path) != expected_sha:
        raise CheckpointError(
            f"checkpoint {str(folder)!r} is corrupted: {name} does not match the checksum in {CONFIG_FILE} "
            "(truncated or modified after it was written)"
        )
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"checkpoint {str(folder)!r} is corrupted: {name} cannot be read ({err})") from err
    bad = first_nan(tensors)
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {str(folder)!r} is unusable: {bad!r} in {name} holds NaN (it was written by a run whose "
            "training diverged); use an earlier checkpoint"
        )
    return tensors


def retie(folder: Path, policy_state: dict[str, torch.Tensor], ties: Mapping[str, str]) -> None:
    """Point each tied name of ``ties`` at the stored tensor it shares (what :func:`split_shared` took apart).

    A tie only adds a name the file does not store, for a tensor it does store: it can never replace a stored
    tensor, so a damaged ``tied_weights`` cannot swap one layer for another.
    """
    for alias, source in ties.items():
        if alias in policy_state:
            raise CheckpointError(
                f"checkpoint {str(folder)!r}: tied weight {alias!r} would replace the stored tensor of that name "
                f"with {source!r}; {CONFIG_FILE} is damaged"
            )
        if source not in policy_state:
            raise CheckpointError(f"checkpoint {str(folder)!r}: tied weight {alias!r} points to missing {source!r}")
    for alias, source in ties.items():
        policy_state[alias] = policy_state[source]


def load_checkpoint(folder: str | os.PathLike[str]) -> Checkpoint:
    """Read and verify a checkpoint: its JSON description (schema), checksums, then the tensors (never pickles).

    Raises:
        CheckpointError: naming what is missing, malformed or corrupted.
    """
    folder = Path(folder)
    meta = _read_meta(folder)
    files = meta["files"]
    policy_state = _load_tensors(folder, POLICY_FILE, files[POLICY_FILE])
    retie(folder, policy_state, meta.get("tied_weights", {}))
    optimizer_state = None
    if meta.get("optimizer") is not None:
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


def names_checkpoint(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is meant as a checkpoint: it holds a checkpoint's files, or is a run's step folder."""
    path = Path(path)
    in_run = path.parent.name == CHECKPOINTS_DIR and STEP_NAME.fullmatch(path.name) is not None
    return is_checkpoint(path) or (in_run and path.is_dir())


def latest_checkpoint(run_dir: str | os.PathLike[str]) -> Path | None:
    """The newest step folder of a run that holds a checkpoint (whole or damaged), or ``None`` when none does.

    Step folders without any checkpoint file (an empty folder) do not count.
    """
    found = [path for path in list_checkpoints(run_dir) if is_checkpoint(path)]
    return found[-1] if found else None


def load_run_checkpoint(run_dir: str | os.PathLike[str], skip_damaged: bool = True) -> Checkpoint:
    """A run folder's newest valid checkpoint, loaded; warns (:class:`CheckpointWarning`) about what it skipped.

    Step folders that hold no checkpoint are always skipped. A damaged one (fails :func:`load_checkpoint`) is
    skipped with ``skip_damaged``; without it, a damaged newest checkpoint is refused, naming the newest valid one
    to fall back to (resuming from an older checkpoint would write over the damaged one).

    Raises:
        CheckpointError: no checkpoint at all, none valid, or (without ``skip_damaged``) a damaged newest one.
    """
    run = Path(run_dir)
    folders = list_checkpoints(run)
    if not any(is_checkpoint(path) for path in folders):
        raise CheckpointError(f"run folder {str(run)!r} holds no checkpoint yet")
    skipped: list[str] = []
    refused: CheckpointError | None = None
    for path in reversed(folders):
        if not is_checkpoint(path):
            skipped.append(f"{path.name} ({'an empty folder' if not any(path.iterdir()) else 'no checkpoint files'})")
            continue
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as err:
            if not skip_damaged and refused is None:
                refused = err
            skipped.append(f"{path.name} ({err})")
            continue
        if refused is not None:
            raise CheckpointError(
                f"{refused} (the newest checkpoint of run folder {str(run)!r}); move it out of the run's "
                f"{CHECKPOINTS_DIR} folder to continue from {path.name}, the newest valid one"
            ) from refused
        if skipped:
            warnings.warn(
                f"run folder {str(run)!r}: using {path.name}, the newest valid checkpoint; skipped "
                + "; ".join(skipped),
                CheckpointWarning,
                stacklevel=2,
            )
        return ckpt
    if refused is not None:
        raise refused
    raise CheckpointError(f"run folder {str(run)!r} holds no valid checkpoint: " + "; ".join(skipped))


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path | None:
    """The checkpoint ``path`` names: itself, or a run folder's latest; ``None`` when it names neither.

    Raises:
        CheckpointError: for a run folder without any checkpoint.
    """
    path = Path(path)
    if names_checkpoint(path):
        return path
    if (path / CHECKPOINTS_DIR).is_dir():
        latest = latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(f"run folder {str(path)!r} holds no checkpoint yet")
        return latest
    return None


def open_checkpoint(path: str | os.PathLike[str]) -> Checkpoint | None:
    """The checkpoint ``path`` names, loaded; ``None`` when it names none (then it is a model name or folder).

    A checkpoint folder named explicitly must be valid; a run folder gives its newest valid checkpoint, skipping
    newer damaged or empty step folders with a :class:`CheckpointWarning` that names them.

    Raises:
        CheckpointError: a damaged checkpoint folder, or a run folder without a valid checkpoint.
    """
    path = Path(path)
    if names_checkpoint(path):
        return load_checkpoint(path)
    if (path / CHECKPOINTS_DIR).is_dir():
        return load_run_checkpoint(path, skip_damaged=True)
    return None
