"""The command line: ``conformance run | mock | selftest``; every error is one line and a documented exit code."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.catalog.loader import vendor_names
from conformance.errors import ConformanceError, ExitCode, UsageError

VENDOR_DIR_HELP = "a vendor folder outside the package, or a folder of them (repeatable; docs/adding-a-vendor.md)"

EXIT_CODES = """exit codes:
  0    conformant: every MUST requirement passed (and nothing leaked)
  1    conformance failures: a MUST requirement failed, or a created resource could not be cleaned up
  2    usage or set-up error: unknown vendor, fault or requirement, unreadable spec, bad port or URL, port in use;
       a token variable unset, a base URL that is not the API, a disposable id that does not exist
  3    not judged: target unreachable, infrastructure error, or INCOMPLETE (MUST rows skipped by the configuration,
       e.g. without --allow-destructive; --allow-incomplete accepts that with exit 0)
  130  interrupted (SIGINT)"""


# Modules that add a subcommand: each has ``add_parser(subparsers)`` which sets ``handler`` as a default.
EXTRA_COMMANDS: tuple[str, ...] = ("conformance.cli.report", "conformance.sdkgate.gate", "conformance.cli.targets")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise UsageError(f"invalid port {text!r}: expected a number 0-65535") from None
    if not 0 <= value <= 65535:
        raise UsageError(f"invalid port {value}: expected 0-65535")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    from conformance import mock

    parser = _Parser(
        prog="conformance",
        description="Contract and conformance testing of model-management REST APIs (vendors: "
        + ", ".join(vendor_names())
        + ").",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from conformance import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser(
        "run",
        help="run the suite (default: against the embedded mock servers)",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--vendor", action="append", default=[], help="vendor to test (repeatable; default: all)")
    run.add_argument("--vendor-dir", action="append", default=[], type=Path, help=VENDOR_DIR_HELP)
    run.add_argument(
        "--base-url",
        help="a live target: the spec's server URL, with the spec's server path (vendor.yaml default_base_url)",
    )
    run.add_argument("--token-env", help="environment variable holding the live target's token")
    run.add_argument("--disposable-id", action="append", default=[], help="an id the run may delete (repeatable)")
    run.add_argument("--profile", default="quick", help="quick (default, a PR gate) or nightly")
    run.add_argument("--seed", type=int, help="seed for reproducible generation (printed and recorded)")
    run.add_argument("--report-dir", type=Path, help="where reports go (default: reports/<run-id>)")
    run.add_argument("--fault", action="append", default=[], help="inject a named fault into the embedded mock")
    run.add_argument(
        "--quirk",
        action="append",
        default=[],
        help="a correct-but-unusual behaviour of the embedded mock (repeatable)",
    )
    run.add_argument("--delete-delay", type=float, default=0.0, help="embedded mocks finish deletes this much later")
    run.add_argument("--requirement", action="append", default=[], help="judge only these requirement ids")
    run.add_argument("--timeout", type=float, help="per-request timeout in seconds (live target; default 10)")
    run.add_argument("--gone-deadline", type=float, help="seconds a deletion may take (live target; default 30)")
    run.add_argument("--target", action="append", default=[], help="a named target of the configuration (repeatable)")
    run.add_argument("--config", type=Path, help="conformance.toml, or a pyproject.toml with [tool.conformance]")
    run.add_argument(
        "--dry-run", action="store_true", help="print the plan (targets, requirements, requests); send nothing"
    )
    run.add_argument(
        "--budget", type=float, help="total time budget in seconds: the run ends (reports written) within it"
    )
    run.add_argument("--max-requests", type=int, help="request budget per target")
    run.add_argument("--rate-limit", type=float, help="at most this many requests per second per target")
    run.add_argument("--allow-destructive", action="store_true", help="allow creates and deletes on a live target")
    run.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="a partial run: MUST rows skipped by the configuration make the verdict INCOMPLETE but exit 0, not 3",
    )
    run.add_argument("--restricted-token-env", help="variable holding a second token without create permission")
    run.add_argument(
        "--other-token-env",
        help="variable holding the token of a second identity (another workspace or account): isolation checks",
    )
    run.add_argument("--jobs", type=int, default=0, help="targets run in parallel (default: all live targets at once)")
    run.add_argument("--baseline", type=Path, action="append", default=[], help="previous results.json: regressions")
    run.add_argument("--expectations", type=Path, action="append", default=[], help="known failures (YAML or TOML)")
    run.add_argument("--fail-on", choices=("must", "should", "regression"), default="must", help="gate (default must)")

    serve = sub.add_parser("mock", help="serve one vendor's reference mock with uvicorn")
    serve.add_argument("--vendor", required=False, help="one of: " + ", ".join(mock.vendors()))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080)
    serve.add_argument(
        "--token", default=None, help="the token it accepts (default: $CONFORMANCE_MOCK_TOKEN or a fixed one)"
    )
    serve.add_argument("--restricted-token", help="a second token it accepts but answers 403 (no create/delete right)")
    serve.add_argument(
        "--other-token", help="the token of a second workspace/account: its own resources, kept apart from the first's"
    )
    serve.add_argument("--fault", action="append", default=[], help="inject a named fault (repeatable)")
    serve.add_argument(
        "--quirk", action="append", default=[], help="a correct-but-unusual behaviour (repeatable; --list-quirks)"
    )
    serve.add_argument("--delete-delay", type=float, default=0.0, help="seconds before a deleted resource disappears")
    serve.add_argument("--seed-id", action="append", default=[], help="a resource present at start (repeatable)")
    serve.add_argument("--list-faults", action="store_true", help="list the faults of the vendor(s) and exit")
    serve.add_argument("--list-quirks", action="store_true", help="list the quirks of the vendor(s) and exit")

    selftest = sub.add_parser("selftest", help="run the suite against every fault of the mocks; all must be caught")
    selftest.add_argument("--vendor", action="append", default=[], help="limit to these vendors")
    selftest.add_argument("--vendor-dir", action="append", default=[], type=Path, help=VENDOR_DIR_HELP)
    selftest.add_argument("--fault", action="append", default=[], help="limit to these faults")
    selftest.add_argument(
        "--quirk", action="append", default=[], help="limit the must-stay-clean quirk cases to these quirks"
    )
    selftest.add_argument("--no-quirks", action="store_true", help="run no quirk case")
    selftest.add_argument("--requirement", action="append", default=[], help="judge only these requirement ids")
    selftest.add_argument("--profile", default="quick")
    selftest.add_argument("--seed", type=int, default=1)
    selftest.add_argument("--report-dir", type=Path, default=Path("reports") / "selftest")
    selftest.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="cases run at once, in that many worker processes (default: one per CPU; 1: one by one, in this process)",
    )
    run.set_defaults(handler=_cmd_run)
    serve.set_defaults(handler=_cmd_mock)
    selftest.set_defaults(handler=_cmd_selftest)
    for module_name in EXTRA_COMMANDS:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def _use_vendor_dirs(args: argparse.Namespace) -> None:
    from conformance.catalog.loader import add_vendor_dirs, vendor_names

    if args.vendor_dir:
        add_vendor_dirs(args.vendor_dir)
    known = vendor_names()
    unknown = [v for v in args.vendor if v not in known]
    if unknown:
        raise UsageError(f"unknown vendor {unknown[0]!r} (known: {', '.join(known)})")


def _cmd_run(args: argparse.Namespace) -> ExitCode:
    _use_vendor_dirs(args)
    from conformance.reports.summary import console_table
    from conformance.run.runner import RunRequest, execute
    from conformance.target.config import Overrides, resolve_targets

    overrides = Overrides(
        token_env=args.token_env,
        restricted_token_env=args.restricted_token_env,
        other_token_env=args.other_token_env,
        disposable_ids=args.disposable_id,
        timeout=args.timeout,
        gone_deadline=args.gone_deadline,
        budget=args.budget,
        max_requests=args.max_requests,
        rate_limit=args.rate_limit,
        allow_destructive=args.allow_destructive,
    )
    targets, report_root = resolve_targets(
        names=args.target, config_path=args.config, vendors=args.vendor, base_url=args.base_url, overrides=overrides
    )
    if args.budget is not None and args.budget <= 0:
        raise UsageError(f"--budget: expected a number of seconds > 0, got {args.budget:g}")
    if args.dry_run:
        from conformance.run.plan import embedded_plan_targets, plan_text

        print(plan_text(targets or embedded_plan_targets(args.vendor), args.requirement, args.profile))
        return ExitCode.CONFORMANT
    request = RunRequest(
        targets=targets,
        vendors=args.vendor,
        profile=args.profile,
        seed=args.seed,
        report_dir=args.report_dir,
        faults=args.fault,
        quirks=args.quirk,
        delete_delay=args.delete_delay,
        requirements=args.requirement,
        baseline=args.baseline,
        expectations=args.expectations,
        fail_on=args.fail_on,
        allow_incomplete=args.allow_incomplete,
        budget=args.budget,
        jobs=args.jobs,
        report_root=report_root or Path("reports"),
    )
    outcome = execute(request)
    results = outcome.results
    print(
        f"run {results.run_id}  profile {results.profile}  seed {results.seed}  {results.requests} HTTP exchanges"
        f"  {results.retries} retried"
    )
    print(console_table(results))
    for note in results.notes[:10]:
        print(f"  NOTE   {note[:200]}")
    if outcome.gate is not None:
        for line in outcome.gate.notices()[:12]:
            print(f"  {line[:200]}")
    if outcome.gate is not None:
        gate = outcome.gate
        print(
            f"verdict: {gate.verdict}" + (" (--allow-incomplete)" if gate.incomplete and gate.allow_incomplete else "")
        )
        for reason in gate.incomplete[:5]:
            print(f"  INCOMPLETE {reason[:200]}")
    print(f"reports: {outcome.report_dir}  exit {int(outcome.exit_code)}")
    return outcome.exit_code


def _cmd_mock(args: argparse.Namespace) -> ExitCode:
    from conformance import mock
    from conformance.run.servers import BackgroundServer

    if args.list_faults or args.list_quirks:
        listing = mock.faults_of if args.list_faults else mock.quirks_of
        for vendor in [args.vendor] if args.vendor else mock.vendors():
            if vendor not in mock.vendors():
                raise UsageError(f"unknown vendor {vendor!r} (known: {', '.join(mock.vendors())})")
            for name, description in listing(vendor).items():
                print(f"{vendor:<8} {name:<36} {description}")
        return ExitCode.CONFORMANT
    if not args.vendor:
        raise UsageError("mock needs --vendor (one of: " + ", ".join(mock.vendors()) + ")")
    if args.vendor not in mock.vendors():
        raise UsageError(f"unknown vendor {args.vendor!r} (known: {', '.join(mock.vendors())})")
    token = args.token or os.environ.get("CONFORMANCE_MOCK_TOKEN") or mock.MockOptions().token
    try:
        app = mock.create_app(
            args.vendor,
            mock.MockOptions(
                token=token,
                restricted_token=args.restricted_token,
                other_token=args.other_token,
                faults=frozenset(args.fault),
                quirks=frozenset(args.quirk),
                delete_delay=args.delete_delay,
                seed_ids=tuple(args.seed_id),
            ),
        )
    except mock.UnknownFault as exc:
        raise UsageError(str(exc)) from None
    import gc

    gc.freeze()  # the heap of a started mock is never scanned again: no collector pauses from it under load
    server = BackgroundServer(app, host=args.host, port=args.port, log_level="info").start()
    from conformance.catalog.loader import load_vendor

    base_url = server.url.rstrip("/") + load_vendor(args.vendor).server_path
    restricted = f", restricted token {args.restricted_token}" if args.restricted_token else ""
    quirks = f", quirks {','.join(sorted(args.quirk))}" if args.quirk else ""
    restricted += f", second workspace's token {args.other_token}" if args.other_token else ""
    print(
        f"serving the {args.vendor} reference mock on {server.url} (base URL {base_url}, token {token}"
        f"{restricted}{quirks}; Ctrl-C to stop)",
        flush=True,
    )
    try:
        import threading

        threading.Event().wait()
    finally:
        server.stop()
    return ExitCode.CONFORMANT


def _cmd_selftest(args: argparse.Namespace) -> ExitCode:
    _use_vendor_dirs(args)
    from conformance.selftest.runner import run_selftest

    return run_selftest(
        vendors=args.vendor,
        faults=args.fault,
        quirks=None if args.no_quirks else args.quirk,
        profile=args.profile,
        seed=args.seed,
        report_dir=args.report_dir,
        requirements=args.requirement,
        jobs=args.jobs,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``conformance`` command."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except ConformanceError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)


if __name__ == "__main__":
    sys.exit(main())
