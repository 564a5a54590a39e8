"""Task data: the bundled dialogue corpus, procedural dialogue and article generators, and file loaders."""

from tokengym.data.loaders import DataFileError, load_records

__all__ = ["DataFileError", "load_records"]
