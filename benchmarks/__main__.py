"""``python -m benchmarks``: run the benchmarks."""

import sys

from benchmarks.cli import main

sys.exit(main())
