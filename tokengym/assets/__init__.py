"""Embedded assets: the default tokenizer (and model) in ``assets/tiny``.

Rebuild the tokenizer with ``python -m tokengym.assets.build``.
"""
