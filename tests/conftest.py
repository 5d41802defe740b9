"""Fixtures shared across test modules: the expensive full runs of the embedded default, made once per session.

Under pytest-xdist (``-n``) every worker is a session of its own, so a session fixture would be built once per
worker; ``embedded_runs`` is built once in all, in the folder the workers share (their basetemp's parent), under a
file lock: the first worker that needs it builds it, the others wait for it and read it.
(pytest-xdist's ``--dist loadgroup`` would pin the modules to one worker instead, but with pytest 9 it groups
nothing: xdist 3.8 renames ``item._nodeid``, which pytest 9 no longer reads.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from tests.helpers import EMBEDDED_FAULTS, EMBEDDED_SEED, embedded_conformance


def _make_embedded_runs(root: Path) -> None:
    base = embedded_conformance("run", "--seed", EMBEDDED_SEED, "--report-dir", root / "base")
    assert base.returncode == 0, base.stdout + base.stderr
    faults = [a for fault in EMBEDDED_FAULTS for a in ("--fault", fault)]
    faulty = embedded_conformance(
        "run", "--seed", EMBEDDED_SEED, *faults, "--baseline", root / "base" / "results.json",
        "--report-dir", root / "faulty",
    )  # fmt: skip
    assert faulty.returncode == 1, faulty.stdout + faulty.stderr
    for requirement, target in zip(EMBEDDED_FAULTS.values(), ("blaxel-mock", "baseten-mock"), strict=True):
        assert f"REGRESSION MUST {requirement} on {target} (was passed, now failed)" in faulty.stdout, faulty.stdout


@pytest.fixture(scope="session")
def embedded_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two real runs of the embedded default (every vendor) with ``--seed 11``, made once per test run.

    ``base/``: the faithful mocks (exit 0). ``faulty/``: the faults of EMBEDDED_FAULTS, judged against base's
    results (exit 1, each fault a regression). Other tests may run beside them: never change what is there; write
    what a test builds from them (a matrix, a third run) into a folder of its own."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the session's basetemp; each worker's own is a folder in it
    root, done, failed = shared / "embedded-runs", shared / "embedded-runs.done", shared / "embedded-runs.failed"
    with FileLock(shared / "embedded-runs.lock"):
        if failed.is_file():
            pytest.fail(f"the embedded runs failed in another worker:\n{failed.read_text(encoding='utf-8')}")
        if not done.is_file():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            try:
                _make_embedded_runs(root)
            except BaseException as exc:
                failed.write_text(str(exc), encoding="utf-8")
                raise
            done.touch()
    return root
