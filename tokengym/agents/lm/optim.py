"""The optimizer of the language-model policies: fused Adam where it exists, and per-group learning-rate scales.

Example:
    >>> import torch
    >>> from tokengym.agents.lm.optim import make_optimizer, scale_group_learning_rates
    >>> body, head = torch.nn.Linear(4, 4), torch.nn.Linear(4, 1)
    >>> groups = [{"params": body.parameters()}, {"params": head.parameters(), "lr_scale": 10.0}]
    >>> optimizer = make_optimizer(torch.optim.Adam, groups, lr=1e-4, kwargs={})
    >>> scale_group_learning_rates(optimizer)  # the head steps at 1e-3, its stored lr stays 1e-4
"""

from __future__ import annotations

from typing import Any

import torch


def make_optimizer(
    optimizer_class: type[torch.optim.Optimizer], groups: Any, lr: float, kwargs: dict[str, Any]
) -> torch.optim.Optimizer:
    """``optimizer_class(groups, lr=lr, **kwargs)`` for the LM policies (``groups``: parameters or parameter
    groups); Adam and AdamW run fused (one kernel over all parameters) unless ``kwargs`` choose ``fused`` or
    ``foreach``, or the parameters' device has no fused kernel.

    A language model has dozens of parameter tensors, and Adam's default loop over them costs several times its
    arithmetic on a small model (per step on "tiny": 4.3 ms looped, 0.7 ms fused; the same update to rounding).
    """
    groups = list(groups)  # a generator would be spent by a first attempt
    if optimizer_class in (torch.optim.Adam, torch.optim.AdamW) and not {"fused", "foreach"} & set(kwargs):
        try:
            return optimizer_class(groups, lr=lr, fused=True, **kwargs)
        except RuntimeError:  # no fused kernel for this device (or this PyTorch)
            pass
    return optimizer_class(groups, lr=lr, **kwargs)


def scale_group_learning_rates(optimizer: torch.optim.Optimizer) -> None:
    """Make each parameter group with an ``lr_scale`` step at that multiple of its learning rate.

    SB3 sets every group's ``lr`` to the schedule's value before each update, so the scale is applied around
    each ``step()`` only (hooks; the stored ``lr`` stays the schedule's).
    """

    def scale(opt: torch.optim.Optimizer, args: Any, kwargs: Any, inverse: bool = False) -> None:
        for group in opt.param_groups:
            factor = group.get("lr_scale", 1.0)
            group["lr"] = group["lr"] / factor if inverse else group["lr"] * factor

    optimizer.register_step_pre_hook(scale)
    optimizer.register_step_post_hook(lambda opt, args, kwargs: scale(opt, args, kwargs, inverse=True))
