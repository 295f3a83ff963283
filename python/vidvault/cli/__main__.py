"""`python -m vidvault.cli`: the `vidvault` command."""

import sys

from . import main

sys.exit(main())
