"""One way to build and run a model: :mod:`.config`-level settings (:class:`~.train.TrainConfig`), the algorithm
table and builder (:mod:`.algorithms`), :func:`~.train.train`, checkpoints (:mod:`.checkpoint`), evaluation on
held-out episodes (:mod:`.evaluate`) and the demo (:mod:`.demo`), a preset run through ``train()``.
"""
