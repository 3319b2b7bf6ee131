"""``python -m dmsmig``: the operator CLI."""

import sys

from dmsmig.cli import main

sys.exit(main())
