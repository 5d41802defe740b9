"""``python -m conformance.run.session_worker SESSION_JSON``: one target's pytest session, in its own process.

Started by ``conformance.run.parallel``; SIGINT/SIGTERM stop it cleanly (cleanup, then results), like the main run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance import interrupts
from conformance.errors import ConformanceError, ExitCode


def main(argv: Sequence[str]) -> int:
    """Run the session described by the JSON file ``argv[0]``; its exit code is 0, 2 or 3."""
    from conformance.run.runner import RunRequest, run_suite
    from conformance.target.model import Target

    payload = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    with interrupts.signal_guard():
        request = RunRequest(profile=payload["profile"], requirements=payload.get("requirements") or ())
        targets = [Target.from_dict(t) for t in payload["targets"]]
        try:
            run_suite(targets, request, payload["run_id"], int(payload["seed"]), Path(payload["report_dir"]))
        except ConformanceError as exc:
            print(f"conformance session: error: {exc}", file=sys.stderr)
            return int(exc.exit_code)
    return int(ExitCode.CONFORMANT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
