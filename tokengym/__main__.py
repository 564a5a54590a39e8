"""``python -m tokengym`` is the ``tokengym`` command."""

import sys

from tokengym.cli import main

sys.exit(main())
