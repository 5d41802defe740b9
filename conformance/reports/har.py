"""run.har: every exchange of the run as an HTTP Archive 1.2, from the redacted ``exchanges-<target>.jsonl`` files."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:  # harfile loads when run.har is written: the exchange files of every run need only the records
    import harfile

from conformance.exchange import Exchange
from conformance.reports.inputs import EXCHANGES_GLOB, ReportInput


def exchange_record(exchange: Exchange, target: str, seq: int) -> dict[str, Any]:
    """One line of ``exchanges-<target>.jsonl``: the exchange whole (it is redacted when recorded)."""
    return {
        "seq": seq,
        "target": target,
        "started": exchange.started,
        "elapsed_ms": round(exchange.elapsed_ms, 3),
        "method": exchange.method,
        "url": exchange.url,
        "request_headers": exchange.request_headers,
        "request_body": exchange.request_body,
        "status": exchange.status,
        "response_headers": exchange.response_headers,
        "response_body": exchange.response_text,
        "truncated": exchange.truncated,
        "transport_error": exchange.transport_error,
        "attempts": exchange.attempts,
        "note": exchange.note,
    }


def read_exchanges(report_dir: Path) -> Iterator[dict[str, Any]]:
    """Every record of the report directory's exchange files (a line that is not a JSON object is skipped)."""
    for path in sorted(report_dir.glob(EXCHANGES_GLOB)):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record


def _records(headers: Any) -> list[harfile.Record]:
    import harfile

    items = headers.items() if isinstance(headers, Mapping) else []
    return [harfile.Record(name=str(k), value=str(v)) for k, v in items]


def _header(headers: Any, name: str) -> str:
    if isinstance(headers, Mapping):
        for key, value in headers.items():
            if str(key).lower() == name:
                return str(value)
    return ""


def _started(record: Mapping[str, Any], fallback: str) -> str:
    started = record.get("started")
    if isinstance(started, int | float) and started > 0:
        return dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="milliseconds")
    return fallback


def write_har(report: ReportInput) -> list[Path]:
    """run.har in the report directory (written with ``harfile``), entries in the order they were sent."""
    import harfile

    results = report.results
    path = report.report_dir / "run.har"
    redact = report.redactor()
    records = sorted(read_exchanges(report.report_dir), key=lambda r: (float(r.get("started") or 0), r.get("seq", 0)))
    try:
        creator = harfile.Creator(name="conformance", version=version("conformance"))
    except PackageNotFoundError:  # pragma: no cover - a source checkout
        creator = harfile.Creator(name="conformance", version="dev")
    with (
        path.open("w", encoding="utf-8") as out,
        harfile.HarFile(out, creator=creator, comment=f"conformance run {results.run_id}") as har,
    ):
        for record in redact.data(records):
            body = record.get("request_body")
            request_type = _header(record.get("request_headers"), "content-type")
            url = str(record.get("url", ""))
            request = harfile.Request(
                method=str(record.get("method", "")),
                url=url,
                httpVersion="HTTP/1.1",
                headers=_records(record.get("request_headers")),
                queryString=[harfile.Record(name=k, value=v) for k, v in parse_qsl(urlsplit(url).query, True)],
                postData=None if body is None else harfile.PostData(mimeType=request_type, text=str(body)),
                bodySize=-1 if body is None else len(str(body).encode()),
            )
            status = record.get("status")
            text = str(record.get("response_body") or "")
            response_type = _header(record.get("response_headers"), "content-type")
            error = record.get("transport_error")
            response = harfile.Response(
                status=int(status) if isinstance(status, int) else 0,
                statusText=_reason(status),
                httpVersion="HTTP/1.1",
                headers=_records(record.get("response_headers")),
                content=harfile.Content(size=len(text.encode()), mimeType=response_type, text=text),
                redirectURL=_header(record.get("response_headers"), "location"),
                bodySize=len(text.encode()),
                comment=f"transport error: {error}"
                if error
                else ("body truncated" if record.get("truncated") else None),
            )
            elapsed = float(record.get("elapsed_ms") or 0.0)
            har.add_entry(
                startedDateTime=_started(record, results.started),
                time=elapsed,
                request=request,
                response=response,
                timings=harfile.Timings(send=0, wait=elapsed, receive=0),
                comment=" · ".join(str(x) for x in (record.get("target"), record.get("note")) if x) or None,
            )
    return [path]


def _reason(status: Any) -> str:
    try:
        return HTTPStatus(int(status)).phrase
    except (TypeError, ValueError):
        return ""
