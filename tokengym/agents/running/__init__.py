"""One way to build and run a model: the settings (:class:`~.config.TrainConfig`), the algorithm table and builder
(:mod:`.algorithms`), :func:`~.train.train`, checkpoints (:mod:`.checkpoint`), policies for evaluation
(:mod:`.policies`), evaluation on held-out episodes (:mod:`.evaluate`, with the splits of :mod:`.splits`), the
learning curve (:mod:`.curves`), the demo (:mod:`.demo`, a preset run through ``train()``) and the text-game
presets (:mod:`.presets`).
"""
