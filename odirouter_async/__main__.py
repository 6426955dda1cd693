"""``python -m odirouter_async``: the ``odirouter`` command line."""

from .cli import main

raise SystemExit(main())
