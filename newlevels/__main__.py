"""`python -m newlevels`: the `newlevels` command."""

import sys

from newlevels.cli import main

sys.exit(main())
