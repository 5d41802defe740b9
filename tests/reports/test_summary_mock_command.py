"""The reproduction's ``conformance mock`` command names exactly the seeded ids the exchanges touched."""

from __future__ import annotations

from conformance.reports.summary import mock_command


def _exchange(url: str) -> dict[str, object]:
    return {"request": {"url": url}}


def test_only_the_seeds_a_request_named_as_a_whole_segment() -> None:
    seeds = [f"cf-r-seed-{i}" for i in range(400)]
    target = {"vendor": "oxen", "base_url": "http://127.0.0.1:8123/api", "disposable_ids": seeds}
    exchanges = [
        _exchange("http://127.0.0.1:8123/api/ai/models/cf-r-seed-10"),
        _exchange("http://127.0.0.1:8123/api/ai/models/cf-r-seed-3?force=1"),
        _exchange("http://127.0.0.1:8123/api/ai/models/cf-r-seed-7.json"),  # seed-7 followed by "." is another id
        _exchange("http://127.0.0.1:8123/api/ai/models/cf-r-seed-8_x"),
        _exchange("http://127.0.0.1:8123/api/ai/models/xcf-r-seed-9"),  # not after a "/"
    ]
    command = mock_command(target, exchanges)
    assert command.split("--seed-id")[1:] == [" cf-r-seed-3 ", " cf-r-seed-10"]
    assert mock_command(target, [_exchange("http://127.0.0.1:8123/api/ai/models/cf-r-seed-399")]).endswith(
        "--seed-id cf-r-seed-399"
    )
