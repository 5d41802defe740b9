"""``conformance sdk-gate``: run a client (an SDK's test suite) against the validating mock and judge its traffic.

The gate starts the vendor's reference mock in validating, recording mode on a free loopback port, exports
``CONFORMANCE_BASE_URL`` (the spec's server URL on the mock) and ``CONFORMANCE_TOKEN`` to the command, runs it,
then judges every recorded request against the vendor's client requirements (``client-requirements.yaml``) and
writes the same reports as ``run``: results.json, summary.md, junit.xml and allure-results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.catalog.loader import load_client_requirements, load_vendor, specs_dir, vendor_names
from conformance.catalog.model import Requirement, Vendor
from conformance.errors import ExitCode, UsageError, number_flag, output_dir
from conformance.exchange import Exchange
from conformance.redact import Redactor
from conformance.reports.summary import console_table
from conformance.reports.writers import write_run_reports
from conformance.results import RequirementResult, RunResults, tool_versions

if TYPE_CHECKING:  # the mocks and uvicorn load when the gate runs, not with the command line's parser
    from conformance import mock

EXIT_CODES = """exit codes of sdk-gate:
  0    the command passed and its traffic matches the contract (SHOULD findings such as accepted aliases
       are listed but do not fail, unless --strict)
  1    contract violations: a MUST client requirement failed (with --strict: any client requirement failed)
  N    the command's own exit code N when it failed (128+K when killed by signal K); the reports say why;
       a command's 2 or 3 is reported as 4 (the command failed), since 2 and 3 are sdk-gate's own
  2    usage error: unknown vendor or fault, no command, a command that cannot be started
  3    nothing could be judged: the command passed but sent no request to the mock, or the mock broke
  124  the command ran longer than --timeout (it was killed)
  130  interrupted (SIGINT)"""

DEFAULT_SEEDS = ("sdk-gate-model-1", "sdk-gate-model-2", "sdk-gate-model-3")
EXIT_TIMEOUT = 124
RESERVED = frozenset({int(ExitCode.USAGE), int(ExitCode.INFRASTRUCTURE)})  # a command's own 2 or 3 would mislead
EXIT_COMMAND_FAILED = 4
MAX_EVIDENCE = 20


@dataclass
class GateRequest:
    """What to gate: a vendor, the client command, and how strict the mock is."""

    vendor: str
    command: Sequence[str]
    strict: bool = False
    report_dir: Path | None = None
    faults: Sequence[str] = ()
    seed_ids: Sequence[str] = ()
    timeout: float = 900.0


@dataclass
class GateOutcome:
    """What the gate concluded, and where its reports are."""

    results: RunResults
    report_dir: Path
    exit_code: int
    command_exit: int
    reasons: list[str] = field(default_factory=list)


def add_parser(subparsers: Any) -> None:
    """Add the ``sdk-gate`` subcommand."""
    parser = subparsers.add_parser(
        "sdk-gate",
        help="run a client (an SDK's tests) against the validating mock and judge its traffic",
        description="Start the vendor's validating mock, export CONFORMANCE_BASE_URL and CONFORMANCE_TOKEN to "
        "COMMAND, run it, then judge every request it sent (and every reply it parsed) against the contract.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--vendor", required=True, help="one of: " + ", ".join(vendor_names()))
    parser.add_argument(
        "--strict", action="store_true", help="reject undocumented aliases (401) and fail on SHOULD findings too"
    )
    parser.add_argument(
        "--report-dir", type=output_dir("--report-dir"), help="where reports go (default: reports/sdk-gate-<run-id>)"
    )
    parser.add_argument("--fault", action="append", default=[], help="inject a named fault into the mock")
    parser.add_argument(
        "--seed-id",
        action="append",
        default=[],
        help=f"a resource present at start (default for delete-only vendors: {', '.join(DEFAULT_SEEDS)}; "
        "exported as CONFORMANCE_SEED_IDS)",
    )
    parser.add_argument(
        "--timeout", type=number_flag("--timeout"), default=900.0, help="seconds the command may run (default 900)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG …], the client to run")
    parser.set_defaults(handler=_cmd_sdk_gate)


def _cmd_sdk_gate(args: argparse.Namespace) -> int:
    """The handler of ``conformance sdk-gate``."""
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    outcome = run_gate(
        GateRequest(
            vendor=args.vendor,
            command=command,
            strict=args.strict,
            report_dir=args.report_dir,
            faults=args.fault,
            seed_ids=args.seed_id,
            timeout=args.timeout,
        )
    )
    print(gate_console(outcome))
    return outcome.exit_code


def _mock_options(vendor: Vendor, request: GateRequest, token: str, traffic: Path) -> mock.MockOptions:
    """The validating mock's options; a ``UsageError`` for an unknown fault."""
    from conformance import mock

    known = mock.faults_of(vendor.name)
    unknown = sorted(set(request.faults) - known.keys())
    if unknown:
        raise UsageError(
            f"unknown fault(s) {', '.join(unknown)} for vendor {vendor.name} (see `conformance mock --list-faults`)"
        )
    seeds = tuple(request.seed_ids) or (() if "create" in vendor.operations else DEFAULT_SEEDS)
    return mock.MockOptions(
        token=token,
        faults=frozenset(request.faults),
        seed_ids=seeds,
        strict_auth=request.strict,
        validate=True,
        spec_dir=specs_dir() / vendor.name,
        record_path=traffic,
    )


def run_command(command: Sequence[str], env: dict[str, str], timeout: float) -> int:
    """Run the client; its exit code (128+K for signal K, 124 on time-out); ``UsageError`` if it cannot start."""
    try:
        process = subprocess.Popen(list(command), env=env, start_new_session=True)
    except OSError as exc:
        raise UsageError(f"cannot run {command[0]!r}: {exc.strerror or exc}") from None
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        print(f"conformance: the command ran longer than {timeout:g} s and was killed", file=sys.stderr)
        return EXIT_TIMEOUT
    except KeyboardInterrupt:
        _stop(process)
        raise
    return 128 - code if code < 0 else code


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate the command's process group, then kill it if it lingers."""
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except (ProcessLookupError, PermissionError):
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


_SURROGATE = re.compile("[\ud800-\udfff]")


def visible(value: Any) -> Any:
    """A JSON-like value (copied) whose strings and keys hold no lone surrogate: a client may send ``"\\ud800"``
    in a JSON body, which is no character and cannot be written as UTF-8; it becomes the visible text ``\\ud800``
    (the evidence shows what was sent)."""
    if isinstance(value, str):
        return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", value) if _SURROGATE.search(value) else value
    if isinstance(value, list):
        return [visible(item) for item in value]
    if isinstance(value, dict):
        return {visible(key): visible(item) for key, item in value.items()}
    return value


def read_traffic(path: Path) -> list[dict[str, Any]]:
    """The records of a traffic.jsonl file (a line that is not a JSON object is skipped; bytes that are not UTF-8
    are replaced; lone surrogates become visible escapes, see ``visible``)."""
    if not path.is_file():
        return []
    records: list[dict[str, Any]] = []
    for line in path.read_bytes().decode("utf-8", "replace").splitlines():
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(record, dict):
            records.append(visible(record))
    return records


def run_gate(request: GateRequest) -> GateOutcome:
    """Serve the validating mock, run the command against it, judge the traffic and write the reports."""
    from conformance import mock
    from conformance.run.servers import BackgroundServer

    if not request.command:
        raise UsageError("sdk-gate needs a command to run: conformance sdk-gate --vendor V -- COMMAND [ARG …]")
    for key in request.seed_ids:
        if not key.strip() or "/" in key:
            raise UsageError(f"--seed-id {key!r}: an id is a non-empty path segment (no '/')")
    if shutil.which(request.command[0]) is None:
        raise UsageError(f"cannot run {request.command[0]!r}: no such command (or it is not executable)")
    vendor = load_vendor(request.vendor)
    rows = load_client_requirements(vendor.name)
    if not rows or vendor.name not in mock.vendors():
        raise UsageError(f"vendor {vendor.name} has no client requirements or no reference mock to gate against")
    run_id = dt.datetime.now(dt.UTC).strftime("%m%d%H%M") + secrets.token_hex(2)
    report_dir = request.report_dir or Path("reports") / f"sdk-gate-{run_id}"
    report_dir.mkdir(parents=True, exist_ok=True)
    traffic = report_dir / "traffic.jsonl"
    traffic.unlink(missing_ok=True)
    token = "cf-gate-" + secrets.token_hex(16)
    options = _mock_options(vendor, request, token, traffic)
    try:
        app = mock.create_app(vendor.name, options)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    server = BackgroundServer(app).start()
    base_url = server.url + vendor.server_path
    env = {
        **os.environ,
        "CONFORMANCE_BASE_URL": base_url,
        "CONFORMANCE_TOKEN": token,
        "CONFORMANCE_MOCK_URL": server.url,
        "CONFORMANCE_VENDOR": vendor.name,
        "CONFORMANCE_SEED_IDS": ",".join(options.seed_ids),
        "CONFORMANCE_STRICT": "1" if request.strict else "0",
    }
    try:
        command_exit = run_command(request.command, env, request.timeout)
    finally:
        server.stop()
    records = read_traffic(traffic)
    redactor = Redactor([token])
    results = RunResults(
        run_id=run_id,
        profile="sdk-gate",
        seed=0,
        started=started,
        finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        targets=[
            {
                "name": f"{vendor.name}-sdk-gate",
                "vendor": vendor.name,
                "base_url": base_url,
                "token_env": "CONFORMANCE_TOKEN",
                "owned": True,
                "command": [redactor.text(part) for part in request.command],
                "command_exit": command_exit,
                "strict": request.strict,
                "faults": sorted(request.faults),
                "seed_ids": list(options.seed_ids),
                "spec_version": str(vendor.spec.get("info", {}).get("version", "")),
            }
        ],
        results=[_judge_safely(row, records, vendor, server.url, request) for row in rows],
        tool_versions=_tool_versions(),
        requests=len(records),
    )
    for result in results.results:
        result.message = redactor.text(result.message)
        result.evidence = redactor.data(result.evidence)
    exit_code, reasons = decide(results, command_exit, request)
    outcome = GateOutcome(results, report_dir, exit_code, command_exit, reasons)
    try:
        write_reports(outcome, request)
    except Exception as exc:  # the results are written whatever broke: a plain-ASCII results.json, exit 3
        outcome.exit_code = int(ExitCode.INFRASTRUCTURE)
        outcome.reasons.append(f"writing the reports broke ({type(exc).__name__}: {exc}); results.json is ASCII-only")
        text = json.dumps(visible(results.as_dict()), indent=2, ensure_ascii=True) + "\n"
        (report_dir / "results.json").write_text(text, encoding="ascii")
    return outcome


def _judge_safely(
    row: Requirement, records: list[dict[str, Any]], vendor: Vendor, root_url: str, request: GateRequest
) -> RequirementResult:
    """``_judge``, or an error result naming what broke (a hostile record must not lose the other verdicts)."""
    try:
        return _judge(row, records, vendor, root_url, request)
    except Exception as exc:
        return RequirementResult(
            requirement=row.id,
            level=row.level,
            vendor=row.vendor,
            operation=row.operation,
            target=f"{vendor.name}-sdk-gate",
            status="error",
            rule=row.rule,
            source={"seed": row.source.seed, "field": row.source.field},
            message=f"judging the recorded traffic broke: {type(exc).__name__}: {str(exc)[:200]}",
            evidence={"examined": 0, "violations": [], "exchanges": []},
            duration_ms=0.0,
        )


def _relevant(row: Requirement, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records a row judges: every request for ``any``, else those of its operation role."""
    return [r for r in records if row.operation == "any" or r.get("role") == row.operation]


def _where(record: dict[str, Any]) -> str:
    """``METHOD path -> status`` of a record."""
    return f"{record.get('method')} {record.get('path')} -> {record.get('response', {}).get('status')}"


def _exchange(record: dict[str, Any], root_url: str, note: str) -> dict[str, Any]:
    """A recorded exchange as the evidence format of results.json (with a curl reproduction)."""
    query = record.get("query") or ""
    request = record.get("request") or {}
    response = record.get("response") or {}
    exchange = Exchange(
        method=str(record.get("method")),
        url=root_url + str(record.get("path")) + (f"?{query}" if query else ""),
        request_headers=dict(request.get("headers") or {}),
        request_body=request.get("body"),
        status=response.get("status"),
        response_headers=dict(response.get("headers") or {}),
        response_text=str(response.get("body") or ""),
        elapsed_ms=float(record.get("elapsed_ms") or 0.0),
        truncated=bool(response.get("truncated")),
        note=note,
    )
    return exchange.as_dict()


def _fault_requirements(vendor: Vendor, faults: Sequence[str]) -> str:
    """``fault (breaks ID, ID)`` for each injected fault."""
    return ", ".join(f"{f} (breaks {', '.join(vendor.faults.get(f, ())) or 'no listed requirement'})" for f in faults)


def _judge(
    row: Requirement, records: list[dict[str, Any]], vendor: Vendor, root_url: str, request: GateRequest
) -> RequirementResult:
    """The verdict on one client requirement from the recorded traffic."""
    started = time.perf_counter()
    relevant = _relevant(row, records)
    aspect = row.args.get("aspect")
    problems: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for record in relevant:
        if aspect == "replies":
            problems += [(record, v) for v in record.get("reply_violations") or []]
        else:
            problems += [(record, v) for v in record.get("violations") or [] if v.get("requirement") == row.id]
    noun = "request" if row.operation == "any" else f"{row.operation} request"
    status, message = "passed", f"{len(relevant)} {noun}(s) examined, none breaks the rule"
    if not relevant:
        status, message = "skipped", f"the command sent no {noun}: nothing to judge"
    elif problems:
        status, message = _problem_message(row, problems, len(relevant), vendor, request)
    evidence = {
        "examined": len(relevant),
        "violations": [
            {"seq": rec.get("seq"), "request": _where(rec), **violation} for rec, violation in problems[:MAX_EVIDENCE]
        ],
        "exchanges": [_exchange(rec, root_url, str(v.get("message", ""))) for rec, v in _first_per_record(problems)],
    }
    return RequirementResult(
        requirement=row.id,
        level=row.level,
        vendor=row.vendor,
        operation=row.operation,
        target=f"{vendor.name}-sdk-gate",
        status=status,
        rule=row.rule,
        source={"seed": row.source.seed, "field": row.source.field},
        message=message,
        evidence=evidence,
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _first_per_record(
    problems: list[tuple[dict[str, Any], dict[str, Any]]], limit: int = 3
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The first problem of each of the first ``limit`` records."""
    seen: set[Any] = set()
    out: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for record, violation in problems:
        if record.get("seq") not in seen and len(out) < limit:
            seen.add(record.get("seq"))
            out.append((record, violation))
    return out


def _problem_message(
    row: Requirement,
    problems: list[tuple[dict[str, Any], dict[str, Any]]],
    examined: int,
    vendor: Vendor,
    request: GateRequest,
) -> tuple[str, str]:
    """Status and message of a row with problems: each distinct message once, with its value and request."""
    records = {rec.get("seq") for rec, _ in problems}
    distinct: list[str] = []
    for record, violation in problems:
        value = violation.get("value")
        text = str(violation.get("message", ""))
        if value is not None and repr(value) not in text and str(value) not in text:
            text += f" (value {value!r})"
        text += f" [{_where(record)}]"
        if text not in distinct:
            distinct.append(text)
    more = f"; and {len(distinct) - 3} more" if len(distinct) > 3 else ""
    detail = "; ".join(distinct[:3]) + more
    if row.args.get("aspect") != "replies":
        return "failed", f"{len(records)} of {examined} requests: {detail}"
    if request.faults:
        return "failed", (
            f"{len(records)} of {examined} replies broke the contract on purpose, injected fault(s) "
            f"{_fault_requirements(vendor, sorted(request.faults))}: {detail}"
        )
    return "error", f"the reference mock sent {len(records)} reply(ies) that break the contract (a mock bug): {detail}"


def decide(results: RunResults, command_exit: int, request: GateRequest) -> tuple[int, list[str]]:
    """The exit code (see EXIT_CODES) and the reasons for it, one sentence each."""
    failed = results.failed()
    must = [r for r in failed if r.level == "MUST"]
    judged = must if not request.strict else failed
    replies = [r for r in failed if r.requirement.endswith("-CLIENT-REPLIES-CONFORM")]
    reasons: list[str] = []
    if command_exit != 0:
        if command_exit == EXIT_TIMEOUT:
            reasons.append(f"the command ran longer than {request.timeout:g} s and was killed")
        else:
            reasons.append(f"the command failed with exit code {command_exit}")
        if replies:
            reasons.append(f"it parsed replies the mock broke on purpose: {replies[0].message}")
        reasons += [f"{r.requirement} ({r.level}): {r.message}" for r in judged if r not in replies]
        if not judged and not replies:
            reasons.append("its traffic broke no client requirement: the failure is the command's own")
        if command_exit in RESERVED:
            reasons.append(f"sdk-gate exits {EXIT_COMMAND_FAILED}: its own {command_exit} means something else")
            return EXIT_COMMAND_FAILED, reasons
        return command_exit, reasons
    if replies:
        reasons.append(f"the command passed although replies broke the contract: {replies[0].message}")
    reasons += [f"{r.requirement} ({r.level}): {r.message}" for r in judged if r not in replies]
    if judged:
        return int(ExitCode.FAILURES), reasons
    errors = [r for r in results.results if r.status == "error"]
    if errors:
        return int(ExitCode.INFRASTRUCTURE), [f"{r.requirement}: {r.message}" for r in errors]
    if results.requests == 0:
        return int(ExitCode.INFRASTRUCTURE), [
            "the command passed but sent no request to the mock: does it use $CONFORMANCE_BASE_URL?"
        ]
    findings = [r for r in failed if r.level == "SHOULD"]
    if findings:
        reasons.append(f"{len(findings)} SHOULD finding(s), allowed without --strict")
    return int(ExitCode.CONFORMANT), reasons


def gate_console(outcome: GateOutcome) -> str:
    """What the gate prints after the command: verdict, table, findings, reasons, where the reports are."""
    results = outcome.results
    target = results.targets[0]
    command = " ".join(target["command"])
    lines = [
        f"sdk-gate {target['vendor']}: `{command}` exited {outcome.command_exit}; {results.requests} request(s) "
        f"recorded; strict: {'yes' if target['strict'] else 'no'}; faults: {', '.join(target['faults']) or 'none'}",
        console_table(results),
    ]
    lines += [f"  why: {reason}" for reason in outcome.reasons]
    lines.append(f"reports: {outcome.report_dir}  exit {outcome.exit_code}")
    return "\n".join(lines)


def write_reports(outcome: GateOutcome, request: GateRequest) -> None:
    """results.json, summary.md, junit.xml and allure-results/ in the report directory, like ``run`` writes them."""
    target = outcome.results.targets[0]
    write_run_reports(
        outcome.results,
        outcome.report_dir,
        fail_on="should" if request.strict else "must",
        lead=gate_summary(outcome),
        properties={
            "command": " ".join(target["command"]),
            "command_exit": str(outcome.command_exit),
            "gate_exit": str(outcome.exit_code),
            "strict": str(target["strict"]).lower(),
        },
        parameters={"command exit": str(outcome.command_exit)},
    )


def gate_summary(outcome: GateOutcome) -> list[str]:
    """The lead of summary.md: the gate's verdict and reasons, and the SHOULD findings (the run summary follows)."""
    target = outcome.results.targets[0]
    verdict = "PASS" if outcome.exit_code == 0 else "FAIL"
    lines = [
        f"# SDK gate {target['vendor']}: {verdict} (exit {outcome.exit_code})",
        "",
        f"- command: `{' '.join(target['command'])}` exited {outcome.command_exit}",
        f"- strict: {'yes' if target['strict'] else 'no'}; faults: {', '.join(target['faults']) or 'none'}; "
        f"{outcome.results.requests} request(s) recorded in `traffic.jsonl`",
    ]
    lines += [f"- why: {reason}" for reason in outcome.reasons]
    findings = [r for r in outcome.results.failed() if r.level == "SHOULD"]
    if findings:
        lines += ["", "## Undocumented but accepted, and other SHOULD findings", ""]
        lines += [f"- `{r.requirement}`: {r.message}" for r in findings]
    return lines


def _tool_versions() -> dict[str, str]:
    return tool_versions("jsonschema", "jsonschema-rs", "uvicorn", "httpx")
