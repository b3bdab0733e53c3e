"""``python -m labkit.store``: the ``labkit runs`` command on its own."""

import sys

from labkit.store._cli import main

sys.exit(main())
