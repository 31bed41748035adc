"""`python -m monitor.cli`: the same as the `fresh` console script."""

import sys

from monitor.cli.app import main

sys.exit(main())  # type: ignore[func-returns-value]
