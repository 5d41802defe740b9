"""benchmarks/hostile_clients.py runs (small) and shows the bounds: a full store answers 507, RSS stays flat."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import hostile_clients  # noqa: E402


def test_the_hostile_benchmark_in_small(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    argv = ["--creates", "120", "--label-bytes", "800000", "--seeds", "3", "--seed-bytes", "900000"]
    assert (
        hostile_clients.main([*argv, "--loris", "3", "--loris-seconds", "2", "--max-seconds", "60", "--json", str(out)])
        == 0
    )
    figures = json.loads(out.read_text(encoding="utf-8"))
    statuses = {int(k): v for k, v in figures["creates"]["statuses"].items()}
    assert statuses.get(507, 0) > 0 and statuses.get(200, 0) <= 84, statuses  # 64 MiB hold about 83 of them
    assert figures["rss_mb"]["peak"] < 400, figures["rss_mb"]
    assert figures["slow_loris"]["sockets"] == 3
