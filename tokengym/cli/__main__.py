import sys

from tokengym.cli.main import main

sys.exit(main())
