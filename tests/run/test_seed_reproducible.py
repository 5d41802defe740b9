"""``--seed N`` reproduces the run: the same requests in the same order, modulo the run-unique name part."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import run_cli


def _requests(report_dir: Path) -> tuple[int, list[str]]:
    """The run's request count and every evidence request, with run-unique parts (run id, names, port) masked."""
    results = json.loads((report_dir / "results.json").read_text(encoding="utf-8"))
    out: list[str] = []
    for result in results["results"]:
        for exchange in result["evidence"].get("exchanges", []):
            request = exchange["request"]
            text = json.dumps([result["requirement"], request.get("method"), request.get("url"), request.get("body")])
            text = re.sub(re.escape(results["run_id"]), "RUN", text, flags=re.IGNORECASE)
            text = re.sub(r"absent-[0-9a-f]+", "absent-X", text, flags=re.IGNORECASE)
            text = re.sub(r"RUN[0-9a-z]*-[0-9a-f]+", "RUN-NAME", text, flags=re.IGNORECASE)
            text = re.sub(r"127\.0\.0\.1:\d+", "HOST", text)
            # rows judged at once (--workers) take the declared disposable ids in the order they reach them
            text = re.sub(r"RUN-seed-\d+", "RUN-seed-N", text, flags=re.IGNORECASE)
            out.append(text)
        out.append(f"{result['requirement']} examined {result['evidence'].get('examined')}")
    return int(results["requests"]), out


def test_same_seed_same_requests_other_seed_other_requests(tmp_path: Path) -> None:
    """Two runs with --seed 7 send the same sequence; --seed 8 sends another (so the comparison can fail)."""
    runs = {}
    for name, seed in (("a", "7"), ("b", "7"), ("c", "8")):
        done = run_cli(
            "run", "--vendor", "blaxel", "--vendor", "baseten", "--seed", seed, "--report-dir", str(tmp_path / name)
        )
        assert done.returncode == 0, done.stderr
        runs[name] = _requests(tmp_path / name)
    assert runs["a"] == runs["b"]
    assert runs["a"][1] != runs["c"][1]
