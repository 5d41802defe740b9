"""allure-results/ from the results model, through allure-python-commons: a result per requirement and target, the
request (curl) and response of its evidence as attachments, environment.properties and categories.json."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allure_commons import logger as allure_logger
from allure_commons.model2 import ATTACHMENT_PATTERN, Attachment, Label, Parameter, Status, StatusDetails, TestResult
from allure_commons.types import AttachmentType

from conformance.reports.inputs import ReportInput
from conformance.results import RequirementResult, RunResults

STATUS = {"passed": Status.PASSED, "failed": Status.FAILED, "skipped": Status.SKIPPED, "flaky": Status.PASSED}
MAX_ATTACHED = 3
AllureFileLogger: Any = allure_logger.AllureFileLogger  # untyped: its methods are pluggy hooks

# Matched by Allure against each failed test's message, which the plugin words "[LEVEL ID] status: reason".
CATEGORIES: list[dict[str, Any]] = [
    {
        "name": "Conformance failures: MUST",
        "description": "The target broke a MUST requirement of its published contract.",
        "matchedStatuses": ["failed"],
        "messageRegex": r"(?s).*\[MUST [A-Z0-9-]+\] failed: .*",
    },
    {
        "name": "Conformance failures: SHOULD",
        "description": "The target broke a SHOULD requirement (inferred or a convention).",
        "matchedStatuses": ["failed"],
        "messageRegex": r"(?s).*\[SHOULD [A-Z0-9-]+\] failed: .*",
    },
    {
        "name": "Target or run errors (not judged)",
        "description": "Transport error, timeout, exhausted budget: the requirement could not be judged.",
        "matchedStatuses": ["failed", "broken"],
        "messageRegex": r"(?s).*\[(MUST|SHOULD) [A-Z0-9-]+\] error: .*",
    },
    {
        "name": "Suite defects",
        "description": "An exception in the suite itself: report it to the suite's maintainers.",
        "matchedStatuses": ["broken"],
    },
]

_KEY_ESCAPES = str.maketrans({"\\": "\\\\", "=": "\\=", ":": "\\:", " ": "\\ ", "#": "\\#", "!": "\\!"})


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="[REDACTED]@" + parts.netloc.rsplit("@", 1)[1]))


def environment_properties(results: RunResults, redact: Callable[[str], str] = str) -> str:
    """Allure's environment.properties: run id, seed, profile, each target, spec versions and tool versions."""
    rows: list[tuple[str, str]] = [
        ("run_id", results.run_id),
        ("profile", results.profile),
        ("seed", str(results.seed)),
    ]
    for target in results.targets:
        vendor = str(target.get("vendor", ""))
        rows.append((f"target.{target.get('name')}", f"{vendor} {_without_userinfo(str(target.get('base_url', '')))}"))
        rows.append((f"spec.{vendor}", str(target.get("spec_version", ""))))
    rows += [(f"tool.{name}", version) for name, version in sorted(results.tool_versions.items())]
    seen: dict[str, str] = dict(rows)
    lines = [f"{key.translate(_KEY_ESCAPES)}={_value(redact(value))}" for key, value in seen.items()]
    return "\n".join(lines) + "\n"


def _value(text: str) -> str:
    return re.sub(r"[\r\n]+", " ", text).replace("\\", "\\\\")


def write_allure_extras(allure_dir: Path, results: RunResults, redact: Callable[[str], str] = str) -> None:
    """Write environment.properties and categories.json into an allure-results directory."""
    allure_dir.mkdir(parents=True, exist_ok=True)
    (allure_dir / "environment.properties").write_text(environment_properties(results, redact), encoding="utf-8")
    (allure_dir / "categories.json").write_text(json.dumps(CATEGORIES, indent=2) + "\n", encoding="utf-8")


def _epoch_ms(timestamp: str) -> int:
    try:
        return int(dt.datetime.fromisoformat(timestamp).timestamp() * 1000)
    except ValueError:
        return 0


def _attach(logger: Any, text: str, name: str, kind: AttachmentType = AttachmentType.TEXT) -> Attachment:
    source = ATTACHMENT_PATTERN.format(prefix=uuid.uuid4(), ext=kind.extension)
    logger.report_attached_data(body=text, file_name=source)
    return Attachment(name=name, source=source, type=kind.mime_type)


def _response_text(exchange: dict[str, Any]) -> str:
    response = exchange.get("response") or {}
    head = response.get("transport_error") or f"HTTP {response.get('status')}"
    headers = "\n".join(f"{k}: {v}" for k, v in (response.get("headers") or {}).items())
    return f"{head}\n{headers}\n\n{str(response.get('body') or '')[:4000]}"


def allure_result(
    logger: Any,
    result: RequirementResult,
    start: int,
    parameters: dict[str, str],
    redact: Callable[[str], str] = str,
) -> TestResult:
    """The Allure result of one requirement on one target, its evidence attached."""
    case = f"{result.target}::{result.requirement}"
    details = None
    if result.status != "passed":
        details = StatusDetails(
            message=f"[{result.level} {result.requirement}] {result.status}: {result.message}",
            flaky=True if result.status == "flaky" else None,
        )
    attachments: list[Attachment] = []
    for exchange in (result.evidence.get("exchanges") or [])[:MAX_ATTACHED]:
        if isinstance(exchange, dict):
            attachments.append(_attach(logger, redact(str(exchange.get("curl", ""))), "request (curl)"))
            attachments.append(_attach(logger, redact(_response_text(exchange)), "response"))
    if result.status not in {"passed", "skipped"} and set(result.evidence) - {"examined", "notes", "exchanges"}:
        evidence = json.dumps(result.evidence, indent=2, ensure_ascii=False, default=str)
        attachments.append(_attach(logger, redact(evidence), "evidence", AttachmentType.JSON))
    labels = [
        ("vendor", result.vendor),
        ("target", result.target),
        ("operation", result.operation),
        ("requirement", result.requirement),
        ("parentSuite", result.vendor),
        ("suite", result.target),
        ("subSuite", result.operation),
        ("severity", "critical" if result.level == "MUST" else "minor"),
        ("framework", "conformance"),
    ]
    return TestResult(
        uuid=str(uuid.uuid4()),
        historyId=hashlib.sha256(case.encode()).hexdigest()[:32],
        testCaseId=hashlib.sha256(f"{result.vendor}:{result.requirement}".encode()).hexdigest()[:32],
        fullName=f"conformance.{result.vendor}.{result.operation}.{result.requirement}",
        name=f"{result.requirement}: {result.rule}",
        description=f"{result.rule}\n\nsource: {result.source.get('seed')} {result.source.get('field')}",
        status=STATUS.get(result.status, Status.BROKEN),
        statusDetails=details,
        stage="finished",
        start=start,
        stop=start + max(1, int(result.duration_ms)),
        labels=[Label(name=n, value=v) for n, v in labels],
        parameters=[Parameter(name="conformance_case", value=case)]
        + [Parameter(name=n, value=v) for n, v in parameters.items()],
        attachments=attachments,
    )


def write_allure(report: ReportInput) -> list[Path]:
    """allure-results/ of one run: a result per requirement and target, environment.properties, categories.json."""
    folder = report.report_dir / "allure-results"
    results = report.results
    logger = AllureFileLogger(str(folder), clean=True)
    start = _epoch_ms(results.started)
    for result in results.results:
        logger.report_result(allure_result(logger, result, start, report.parameters, report.redactor().text))
        start += max(1, int(result.duration_ms))
    write_allure_extras(folder, results, report.redactor().text)
    return [folder]
