"""Language-model policies for Stable-Baselines3 and what they need, one idea per module.

- :mod:`.loading`: ``load_lm``, the embedded models; :mod:`.spaces`: the token contract a policy checks.
- :mod:`.kv_cache`: the key/value cache that samples a rollout token by token; :mod:`.prefixes`: the full pass
  that scores every prefix of a sequence at once; :mod:`.states`: the one switch between the two.
- :mod:`.sampling`: the one top-k/top-p filter and sampler; :mod:`.logprob`: the one log-probability and
  entropy path (with its hand-written gradient); :mod:`.optim`: the optimiser and the critic's learning rate.
- :mod:`.policy`: :class:`~.policy.LMActorCriticPolicy` for PPO, A2C and TRPO; :mod:`.trpo`: TRPO with one-pass
  actor gradients; :mod:`.maskable`: MaskablePPO's policy; :mod:`.nlpo`: NLPO's top-p masks; :mod:`.dqn`:
  :class:`~.dqn.LMDQNPolicy` and :class:`~.dqn.TextDQN`.
- :mod:`.buffers`: rollout buffers that keep episodes together, group baselines and step shapers; :mod:`.kl`:
  the KL penalty to a reference model.

The public names are re-exported by :mod:`tokengym.agents`.
"""
