"""Allow ``python -m algodesk``."""

import sys

from algodesk.cli import main

sys.exit(main())
