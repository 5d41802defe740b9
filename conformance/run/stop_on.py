"""Loaded with ``-p conformance.run.stop_on``: rows judged first, and the session stopped at the first that fails.

``--conformance-stop-on ID`` (repeatable) names the rows. They are judged first, in the order given, before
every other row (a row whose check runs last stays last: it judges what the others recorded); the session stops
after the first of them whose verdict is ``failed``. An errored row (a check that could not judge) does not stop
it, unlike ``-x``. The rows left are recorded as ``error`` "not judged" (``unjudged.py``), as for any session that
stops early. When none of them fails, every row is judged as in a session without the option.

The self-test uses it for a mutant, which is killed by the first failed MUST row of its operation: judging more
cannot undo that. A survivor is judged on every row, as before.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

STOPPED = "a row named by --conformance-stop-on failed"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--conformance-stop-on``."""
    parser.getgroup("conformance").addoption(
        "--conformance-stop-on",
        action="append",
        default=[],
        metavar="ID",
        help="judge this requirement first; stop the session when it (or another one named) fails",
    )


def _stop_ids(config: pytest.Config) -> set[str]:
    return set(config.getoption("--conformance-stop-on") or [])


def _case(item: pytest.Item) -> Any:
    callspec: Any = getattr(item, "callspec", None)
    return callspec.params.get("conformance_case") if callspec else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The named rows first, in the order the option gave them, then the others in theirs; rows that run last
    stay last."""
    from conformance.checks.registry import is_last

    rank = {row: n for n, row in enumerate(dict.fromkeys(config.getoption("--conformance-stop-on") or []))}

    def position(item: pytest.Item) -> int | None:
        case = _case(item)
        if case is None or is_last(case.requirement.check):
            return None
        return rank.get(case.requirement.id)

    named = sorted((i for i in items if position(i) is not None), key=lambda i: position(i) or 0)
    items[:] = named + [i for i in items if position(i) is None]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    """After each row: stop the session when a named row's verdict is ``failed``."""
    from conformance.run.plugin import conformance_session

    state = conformance_session(item.config)
    before = len(state.results.results) if state is not None else 0
    outcome = yield
    if state is not None:
        ids = _stop_ids(item.config)
        if any(r.status == "failed" and r.requirement in ids for r in state.results.results[before:]):
            item.session.shouldfail = STOPPED
    return outcome
