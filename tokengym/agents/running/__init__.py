"""One way to build and run a model: the settings (:class:`~.config.TrainConfig`), the algorithm table and builder
(:mod:`.algorithms`), :func:`~.train.train`, checkpoints (:mod:`.checkpoint`), evaluation on held-out episodes
(:mod:`.evaluate`), the demo (:mod:`.demo`, a preset run through ``train()``) and the text-game presets
(:mod:`.presets`).
"""
