"""``python -m envmon``: the same as the ``envmon`` command."""

import sys

from envmon.cli import main

sys.exit(main())
