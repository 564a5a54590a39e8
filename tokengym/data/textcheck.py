"""Whether a Python string is text that can be encoded: the one check for data files, reward specs and actions.

A ``str`` may hold lone surrogates (``"\\ud800"``: what ``json.loads`` makes of a ``"\\ud800"`` escape, or
``os.fsdecode`` of bytes that are not UTF-8). They are not Unicode characters, so the tokenizers and every
UTF-8 writer refuse them deep inside their own code; checking at the boundary names the input and the place.

Example:
    >>> unicode_problem("fine")
    >>> unicode_problem("ab\\ud800c")
    "a lone surrogate '\\\\ud800' at index 2"
    >>> require_unicode("ab\\ud800c", "the action")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the action is not valid Unicode text: a lone surrogate '\\ud800' at index 2; ...
"""

from __future__ import annotations

__all__ = ["require_unicode", "unicode_problem"]


def unicode_problem(text: str) -> str | None:
    """What makes ``text`` not valid Unicode (its first lone surrogate and its index), or ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        # the encoder reports the first unencodable character; only surrogates are unencodable in UTF-8
        char = text[err.start]
        # U+DC80..U+DCFF is how Python's "surrogateescape" keeps a byte it could not decode (stdin, file names)
        byte = (
            f" (the byte 0x{ord(char) - 0xDC00:02x} of input that was not UTF-8)"
            if "\udc80" <= char <= "\udcff"
            else ""
        )
        return f"a lone surrogate {char!r} at index {err.start}{byte}"
    return None


def require_unicode(text: str, what: str) -> str:
    """Return ``text``, or raise ``ValueError`` naming ``what`` and the first lone surrogate in it.

    Raises:
        ValueError: ``text`` holds a lone surrogate (half of a UTF-16 pair, which no UTF-8 text can hold).
    """
    problem = unicode_problem(text)
    if problem is not None:
        raise ValueError(
            f"{what} is not valid Unicode text: {problem}; pass text decoded from UTF-8 "
            "(a surrogate pair must be one character, e.g. '\\U0001f600', not two halves)"
        )
    return text
