"""What the ``pytest11`` plugin adds to every pytest session of the environment: the import of its module.

``python -m benchmarks.plugin_import [-n N]`` runs N fresh interpreters of each kind and prints medians:

- ``importtime``: ``python -X importtime -c 'import pytest; import conformance.run.plugin'``, the cumulative
  microseconds of the ``conformance.run.plugin`` line (pytest is already imported then, so this is the plugin's own
  cost: the package, its ``__init__`` and whatever the module imports at module level);
- ``wall``: the wall time of ``python -c 'import pytest, conformance.run.plugin'`` beside ``python -c 'import pytest'``.

The target is below 50 ms (tests/run/test_eco_plugin_import.py checks the module-level imports themselves).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

PLUGIN = "conformance.run.plugin"
TARGET_MS = 50.0


def plugin_importtime_ms() -> float:
    """The plugin's cumulative import time (ms) in one fresh interpreter, pytest already imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import pytest; import {PLUGIN}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == PLUGIN:
            return int(parts[1].strip()) / 1000
    raise RuntimeError(f"no importtime line for {PLUGIN}")


def wall_ms(code: str) -> float:
    """Wall time (ms) of ``python -c code`` in a fresh interpreter."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    return (time.perf_counter() - started) * 1000


def main(argv: Sequence[str] | None = None) -> int:
    """Print the medians; exit 1 when the plugin's own import time is above the target."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plugin_import")
    parser.add_argument("-n", type=int, default=7, help="fresh interpreters per figure (default 7)")
    args = parser.parse_args(argv)
    runs = max(1, min(args.n, 100))
    own = statistics.median(plugin_importtime_ms() for _ in range(runs))
    bare = statistics.median(wall_ms("import pytest") for _ in range(runs))
    both = statistics.median(wall_ms(f"import pytest, {PLUGIN}") for _ in range(runs))
    print(f"plugin import (importtime, cumulative, median of {runs}): {own:.1f} ms  (target < {TARGET_MS:g} ms)")
    print(f"python -c 'import pytest'                 : {bare:.0f} ms wall (median of {runs})")
    print(f"python -c 'import pytest, {PLUGIN}': {both:.0f} ms wall (median of {runs}; +{both - bare:.0f} ms)")
    return 0 if own < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
