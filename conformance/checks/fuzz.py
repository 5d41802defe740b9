"""Schemathesis fuzzing and a Hypothesis state machine over the create/delete lifecycle, as registered checks.

Schemathesis generates the requests (positive and negative data, from the OpenAPI document) and judges the
answers with its own checks; every request goes through the target's recording client, so the safety rules
(run-prefixed names, DELETE only of ids that cannot exist) hold for fuzzing too. A failure is replayed once
before it is reported: one that does not reproduce is reported as flaky.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, assume, given, seed, settings
from hypothesis.errors import Flaky, FlakyStrategyDefinition, Unsatisfiable
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, rule, run_state_machine_as_test

from conformance.catalog.model import Requirement, Vendor
from conformance.checks.bodies import get_field, set_field
from conformance.checks.probes import minimal_body, run_seed
from conformance.checks.registry import RequestKind, op_text, register
from conformance.exchange import Exchange
from conformance.target.context import TargetContext
from conformance.verdicts import CheckErrored, CheckFailed, CheckFlaky, CheckSkipped, Evidence

SCHEMATHESIS_CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "content_type_conformance",
    "negative_data_rejection",
)


@functools.cache
def _schemathesis_checks() -> dict[str, Callable[..., Any]]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_schema_conformance,
    )

    return {
        "not_a_server_error": not_a_server_error,
        "response_schema_conformance": response_schema_conformance,
        "content_type_conformance": content_type_conformance,
        "negative_data_rejection": negative_data_rejection,
    }


_LOADED: dict[int, Any] = {}
CONFIG_SOURCE = "built-in defaults (any schemathesis.toml is ignored)"


def _schema(spec: Mapping[str, Any]) -> Any:
    """The OpenAPI schema loaded with an explicit, default schemathesis configuration.

    Without ``config``, schemathesis 4 looks for a ``schemathesis.toml`` in the working directory and each parent
    (``SchemathesisConfig.discover``): a stray one would change, or break, the run's generation and checks.
    """
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    key = id(spec)
    if key not in _LOADED:
        _LOADED[key] = schemathesis.openapi.from_dict(copy.deepcopy(dict(spec)), config=SchemathesisConfig())
    return _LOADED[key]


def fuzz_settings(ctx: TargetContext, check: str, modes: list[str]) -> str:
    """The effective fuzz settings of a row, as one evidence note (results.json records it)."""
    from importlib.metadata import version

    return (
        f"fuzz settings: schemathesis {version('schemathesis')}, config {CONFIG_SOURCE}, "
        f"generation modes {'+'.join(modes)}, max examples {ctx.profile.fuzz_examples} per mode, check {check}"
    )


@dataclass
class FuzzFinding:
    """The first failure of one schemathesis check during a fuzz probe."""

    check: str
    message: str
    exchange: Exchange
    reproduced: bool


@dataclass
class FuzzReport:
    """What one fuzz probe (an operation, a generation mode) sent and found."""

    cases: int = 0
    findings: dict[str, FuzzFinding] = field(default_factory=dict)
    exchanges: list[Exchange] = field(default_factory=list)


def _as_httpx(exchange: Exchange, method: str, url: str) -> httpx.Response:
    import datetime as dt

    # The text is already decoded: a kept content-encoding (gzip) would be decoded a second time, and a kept
    # content-length would describe the compressed bytes.
    headers = {
        k: v for k, v in exchange.response_headers.items() if k.lower() not in ("content-encoding", "content-length")
    }
    response = httpx.Response(
        status_code=exchange.status or 0,
        headers=headers,
        content=exchange.response_text.encode(),
        request=httpx.Request(method, url),
    )
    response.elapsed = dt.timedelta(milliseconds=exchange.elapsed_ms)
    return response


def _failure_text(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)
    if inner:
        return "; ".join(_failure_text(e) for e in inner[:2])
    title = getattr(exc, "title", "")
    message = getattr(exc, "message", "") or str(exc)
    return " ".join(f"{title}: {message}".split())[:300]


def fuzz_report(ctx: TargetContext, role: str, mode: str) -> FuzzReport:
    """Fuzz the ``role`` operation with schemathesis in ``mode`` (positive or negative) once per run."""
    return ctx.probe(f"fuzz:{role}:{mode}", lambda: _fuzz(ctx, role, mode))


def _fuzz(ctx: TargetContext, role: str, mode: str) -> FuzzReport:
    from schemathesis import GenerationMode

    op_row = ctx.operation(role)
    operation = _schema(ctx.vendor.spec).find_operation_by_path(op_row.method.lower(), op_row.path)
    if operation is None:
        raise CheckSkipped(f"{op_row.method} {op_row.path} is not in the OpenAPI document")
    generation = GenerationMode.POSITIVE if mode == "positive" else GenerationMode.NEGATIVE
    checks = {k: v for k, v in _schemathesis_checks().items() if mode == "negative" or k != "negative_data_rejection"}
    report = FuzzReport()
    may_use_real = ctx.target.owned or ctx.has_operation("create")

    def pick_path_id(real: bool) -> str:
        """A resource the run owns when ``real`` (so success answers are judged too), else an absent id."""
        if real and may_use_real and op_row.method == "DELETE" and mode == "positive":
            try:
                return ctx.new_resource(lambda name: minimal_body(ctx, name))[0]
            except (CheckSkipped, CheckErrored):
                pass
        return ctx.absent_id()

    def send(case: Any, real: bool) -> tuple[Exchange, httpx.Response]:
        auth_header = ctx.vendor.auth.header.lower()
        headers = {k: str(v) for k, v in (case.headers or {}).items() if k.lower() != auth_header}
        headers.update(ctx.auth_headers())
        if op_row.id_param and isinstance(case.path_parameters, dict):
            case.path_parameters[op_row.id_param] = pick_path_id(real)
        body = case.body if not _not_set(case.body) else None
        if isinstance(body, dict) and op_row.method == "POST" and op_row.id_field:
            current = get_field(body, op_row.id_field)
            if isinstance(current, str):
                body = set_field(body, op_row.id_field, ctx.name_prefix + ctx.unique_suffix())
                case.body = body
        path = case.formatted_path
        kwargs: dict[str, Any] = {"headers": headers, "note": f"schemathesis {mode}"}
        if body is not None:
            media = case.media_type or "application/json"
            headers.setdefault("Content-Type", media)
            if isinstance(body, (bytes, bytearray)):
                kwargs["content"] = bytes(body)
            else:
                kwargs["content"] = json.dumps(body, default=str) if "json" in media else str(body)
        exchange = ctx.client.send(op_row.method, path, **kwargs)
        if op_row.method == "POST" and exchange.status is not None and exchange.status < 300:
            created = ctx.id_of_body(body)
            if created:
                ctx.ledger.add(created)
        return exchange, _as_httpx(exchange, op_row.method, ctx.client.base_url + path)

    @settings(
        max_examples=ctx.profile.fuzz_examples,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(operation.as_strategy(generation_mode=generation))
    def run_case(case: Any) -> None:
        real = report.cases % 3 == 0
        exchange, response = send(case, real)
        report.cases += 1
        report.exchanges.append(exchange)
        if exchange.transport_error:
            return
        for name, check in checks.items():
            if name in report.findings:
                continue
            try:
                case.validate_response(response, checks=[check])
            except (AssertionError, BaseExceptionGroup) as failure:
                replay, replay_response = send(case, real)
                try:
                    case.validate_response(replay_response, checks=[check])
                    reproduced = False
                except (AssertionError, BaseExceptionGroup):
                    reproduced = True
                report.findings[name] = FuzzFinding(
                    name, _failure_text(failure), replay if reproduced else exchange, reproduced
                )

    seed(run_seed(ctx, f"fuzz:{role}:{mode}"))(run_case)()
    return report


def _not_set(value: Any) -> bool:
    return type(value).__name__ == "NotSet"


FUZZ_ARGS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "schemathesis": {"enum": list(SCHEMATHESIS_CHECKS)},
        "modes": {"type": "array", "items": {"enum": ["positive", "negative"]}, "minItems": 1, "uniqueItems": True},
    },
    "required": ["schemathesis"],
    "additionalProperties": False,
}


def _sends_fuzz(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
    op = op_text(vendor, requirement.operation)
    modes = "/".join(str(m) for m in requirement.args.get("modes", ["positive", "negative"]))
    writes = not op.startswith("DELETE")
    return [RequestKind(f"{op} generated by schemathesis ({modes}; ids are run-owned or absent)", writes)]


def _sends_state_machine(vendor: Vendor, requirement: Requirement) -> list[RequestKind]:
    create, delete = op_text(vendor, "create"), op_text(vendor, "delete")
    return [RequestKind(f"sequences of {create} and {delete} (Hypothesis state machine)", True)]


@register("fuzz", args_schema=FUZZ_ARGS, sends=_sends_fuzz)
def check_fuzz(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """No schemathesis finding of the named check on fuzzed requests (args: ``schemathesis``, ``modes``)."""
    name = str(requirement.args["schemathesis"])
    modes = [str(m) for m in requirement.args.get("modes", ["positive", "negative"])]
    examined = 0
    for mode in modes:
        report = fuzz_report(ctx, requirement.operation, mode)
        examined += report.cases
        finding = report.findings.get(name)
        if finding is None:
            continue
        text = f"{mode} fuzzing ({report.cases} cases): {finding.message}"
        if not finding.reproduced:
            raise CheckFlaky(f"did not reproduce on replay: {text}", [finding.exchange])
        raise CheckFailed(text, [finding.exchange])
    return Evidence(examined=examined, notes=[f"{examined} generated cases", fuzz_settings(ctx, name, modes)])


# --------------------------------------------------------------------------- stateful


@register("lifecycle_state_machine", sends=_sends_state_machine)
def check_lifecycle_state_machine(ctx: TargetContext, requirement: Requirement) -> Evidence:
    """Random sequences of create / delete / delete-again / duplicate / re-create keep a consistent state."""
    ctx.operation("delete")
    can_create = ctx.has_operation("create")
    seen: list[Exchange] = []
    failures: list[CheckFailed] = []

    def fail(message: str, evidence: list[Exchange]) -> CheckFailed:
        failures.append(CheckFailed(message, evidence))
        return failures[-1]

    def expect(exchange: Exchange, allowed: set[int], what: str) -> None:
        seen.append(exchange)
        if exchange.status not in allowed:
            raise fail(f"{what}: answered {exchange.status}, expected {sorted(allowed)}", [exchange])

    def create_or_take() -> str:
        if not can_create:
            assume(ctx.disposable_left() > 0)  # the pool is spent: end this walk, not the check
            return ctx.take_disposable()
        name = ctx.name_prefix + ctx.unique_suffix()
        body = minimal_body(ctx, name)
        expect(ctx.call("create", body=body, note="state machine: create"), {200}, f"create {name}")
        return name

    def delete_until_gone(name: str) -> str:
        expect(ctx.call("delete", resource_id=name, note="state machine: delete"), {200}, f"delete {name}")
        done, polls = ctx.wait_until_gone(name)
        seen.extend(polls)
        if not done:
            raise fail(f"{name} not gone {ctx.target.gone_deadline:g}s after its delete", polls[-1:])
        return name

    class Lifecycle(RuleBasedStateMachine):
        live = Bundle("live")
        gone = Bundle("gone")

        @initialize(target=gone)
        def create_then_delete(self) -> str:
            return delete_until_gone(create_or_take())

        @rule(target=live)
        def create_or_take(self) -> str:
            return create_or_take()

        @rule(name=live)
        def create_duplicate(self, name: str) -> None:
            if can_create:
                exchange = ctx.call("create", body=minimal_body(ctx, name), note="state machine: duplicate")
                expect(exchange, {409}, f"create of existing {name}")

        @rule(target=gone, name=consumes(live))
        def delete(self, name: str) -> str:
            return delete_until_gone(name)

        @rule(name=gone)
        def delete_again(self, name: str) -> None:
            exchange = ctx.call("delete", resource_id=name, note="state machine: delete again")
            if not ctx.answers_absent(exchange):
                expect(exchange, {404}, f"second delete of {name}")

        @rule(name=consumes(gone))
        def recreate(self, name: str) -> None:
            if can_create:
                exchange = ctx.call("create", body=minimal_body(ctx, name), note="state machine: re-create")
                expect(exchange, {200}, f"re-create of deleted {name}")
                ctx.ledger.add(name)

    spent = "no disposable id is left for the lifecycle walk (give the run more with --disposable-id)"
    if not can_create and ctx.disposable_left() == 0:
        raise CheckSkipped(spent)
    try:
        _walk(seed(run_seed(ctx, "lifecycle"))(Lifecycle), ctx)
    except Unsatisfiable:
        raise CheckSkipped(spent) from None
    except (Flaky, FlakyStrategyDefinition) as exc:
        if failures:
            # A live server's state cannot be rewound: the replay of a failing walk may take another path (a spent
            # pool of disposable ids, say). The failure was observed, with its evidence: it is the verdict.
            first = failures[0]
            raise CheckFailed(
                f"{first} (the walk could not be replayed: a server's state cannot be rewound)", first.exchanges
            ) from None
        raise CheckErrored(f"the lifecycle walk could not be replayed consistently: {exc}", seen[-1:]) from None
    return Evidence(examined=len(seen), exchanges=seen[:1], notes=[f"{len(seen)} lifecycle steps"])


def _walk(machine: type[RuleBasedStateMachine], ctx: TargetContext) -> None:
    """Run the lifecycle machine without shrinking (a server's state cannot be rewound)."""
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=ctx.profile.stateful_runs,
            stateful_step_count=ctx.profile.stateful_steps,
            database=None,
            deadline=None,
            phases=(Phase.generate,),
            suppress_health_check=list(HealthCheck),
            print_blob=False,
        ),
    )
