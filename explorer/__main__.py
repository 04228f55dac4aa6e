"""``python -m explorer``: the same as the ``explorer`` command."""

from .cli import main

raise SystemExit(main())
