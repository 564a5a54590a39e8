"""sb3-contrib's TRPO with the KL and surrogate gradients of a language model taken in one backward pass each.

TRPO's step needs, for the actor's parameters, the gradient of the surrogate objective and the gradient of the
mean KL divergence (kept differentiable: each conjugate-gradient iteration differentiates it again, a
Fisher-vector product). sb3-contrib's ``TRPO._compute_actor_grad`` asks autograd for them one parameter tensor at a
time: two backward passes through the whole rollout's graph per tensor, about a hundred for the 4-layer embedded
model, which made one update of a 64-token rollout take minutes. :class:`LMTRPO` overrides that one method to ask
for all actor tensors at once, one backward pass for the KL gradient and one for the surrogate's, with the same
results (the same tensors, in the same order, to floating-point rounding). Nothing else of TRPO changes.

``_compute_actor_grad`` is a private method of sb3-contrib (written against 2.9; ``pyproject.toml`` bounds
sb3-contrib below 3, and ``tests/test_cli_inputs.py`` checks the override against sb3-contrib's own method): if a
release renames it, :class:`LMTRPO` falls back to sb3-contrib's own, slower, path. Measured on the embedded model
(``benchmarks/update_cost.py``, a 4 x 64-token rollout, 15 conjugate-gradient steps, 10 critic passes): 200 s an
update with sb3-contrib's method, 16.7 s with this one.

Example:
    >>> import gymnasium as gym, tokengym
    >>> from tokengym.agents import LMActorCriticPolicy
    >>> model = LMTRPO(LMActorCriticPolicy, gym.make("Dialogue-v0"), n_steps=64, batch_size=64,
    ...                cg_max_steps=5, n_critic_updates=2)                                     # doctest: +SKIP
"""

from __future__ import annotations

import torch
from sb3_contrib import TRPO
from torch import nn


class LMTRPO(TRPO):
    """sb3-contrib's ``TRPO``, with the actor's gradients taken over all parameter tensors in one pass each.

    Takes exactly ``TRPO``'s arguments. Parameters whose name contains ``"value"`` are the critic's (sb3-contrib's
    rule, which :class:`~tokengym.agents.lm.policy.LMActorCriticPolicy`'s ``value_net`` follows).
    """

    def _compute_actor_grad(
        self, kl_div: torch.Tensor, policy_objective: torch.Tensor
    ) -> tuple[list[nn.Parameter], torch.Tensor, torch.Tensor, list[tuple[int, ...]]]:
        """The actor's parameters that move the KL divergence, the surrogate objective's gradient, the KL's
        gradient (with its graph, for the Fisher-vector products) and the parameters' shapes: what
        sb3-contrib's method returns, computed with one ``autograd.grad`` call for each gradient."""
        candidates = [param for name, param in self.policy.named_parameters() if "value" not in name]
        kl_grads = torch.autograd.grad(kl_div, candidates, create_graph=True, retain_graph=True, allow_unused=True)
        actor_params = [param for param, grad in zip(candidates, kl_grads, strict=True) if grad is not None]
        grad_kl_list = [grad.reshape(-1) for grad in kl_grads if grad is not None]
        objective_grads = torch.autograd.grad(policy_objective, actor_params, retain_graph=True, allow_unused=True)
        objective_list = [
            (torch.zeros_like(param) if grad is None else grad).reshape(-1)
            for param, grad in zip(actor_params, objective_grads, strict=True)
        ]
        shapes = [tuple(param.shape) for param in actor_params]
        return actor_params, torch.cat(objective_list), torch.cat(grad_kl_list), shapes
