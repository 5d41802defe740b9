"""The command line: ``conformance run | mock | selftest``; every error is one line and a documented exit code."""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from conformance.cli import flags
from conformance.errors import ConformanceError, ExitCode, UsageError, number_flag, output_dir, text_file
from conformance.run import heap

VENDOR_DIR_HELP = "a vendor folder outside the package, or a folder of them (repeatable; docs/adding-a-vendor.md)"

EXIT_CODES = """exit codes:
  0    conformant: every MUST requirement passed (and nothing leaked)
  1    conformance failures: a MUST requirement failed, or a created resource could not be cleaned up
  2    usage or set-up error: unknown vendor, fault or requirement, unreadable spec, bad port or URL, port in use;
       a token variable unset, a base URL that is not the API, a disposable id that does not exist
  3    not judged: target unreachable, infrastructure error, or INCOMPLETE (MUST rows skipped by the configuration,
       e.g. without --allow-destructive; --allow-incomplete accepts that with exit 0), or an internal error of
       the tool (one line; run again with --debug for the traceback)
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


_SEED = number_flag("--seed", minimum=0, allow_minimum=True, integer=True)
_JOBS = number_flag("--jobs", minimum=1, allow_minimum=True, integer=True)
_DELAY = number_flag("--delete-delay", minimum=0, allow_minimum=True)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of every subcommand (given ``command``, of that one: the others are only named)."""
    from conformance.catalog.loader import vendor_names

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
    parser.add_argument(
        "--debug",
        action="store_true",
        help="print the traceback of an error (before the command: conformance --debug run)",
    )
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
    run.add_argument("--seed", type=_SEED, help="seed for reproducible generation (printed and recorded)")
    run.add_argument(
        "--report-dir", type=output_dir("--report-dir"), help="where reports go (default: reports/<run-id>)"
    )
    run.add_argument("--fault", action="append", default=[], help="inject a named fault into the embedded mock")
    run.add_argument(
        "--quirk",
        action="append",
        default=[],
        help="a correct-but-unusual behaviour of the embedded mock (repeatable)",
    )
    run.add_argument("--delete-delay", type=_DELAY, default=0.0, help="embedded mocks finish deletes this much later")
    run.add_argument("--requirement", action="append", default=[], help="judge only these requirement ids")
    run.add_argument(
        "--timeout", type=number_flag("--timeout"), help="per-request timeout in seconds (live target; default 10)"
    )
    run.add_argument(
        "--gone-deadline",
        type=number_flag("--gone-deadline"),
        help="seconds a deletion may take (live target; default 30)",
    )
    run.add_argument("--target", action="append", default=[], help="a named target of the configuration (repeatable)")
    run.add_argument(
        "--config", type=text_file("--config"), help="conformance.toml, or a pyproject.toml with [tool.conformance]"
    )
    run.add_argument(
        "--dry-run", action="store_true", help="print the plan (targets, requirements, requests); send nothing"
    )
    run.add_argument(
        "--budget",
        type=number_flag("--budget"),
        help="total time budget in seconds: the run ends (reports written) within it",
    )
    run.add_argument(
        "--max-requests",
        type=number_flag("--max-requests", minimum=1, allow_minimum=True, integer=True),
        help="request budget per target",
    )
    run.add_argument(
        "--rate-limit", type=flags.rate_limit, metavar="N[/s|/m]", help="at most N requests per second (or minute)"
    )
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
    run.add_argument(
        "--jobs", type=_JOBS, default=None, help="targets run in parallel (default: all live targets at once)"
    )
    run.add_argument(
        "--workers",
        type=number_flag("--workers", minimum=1, allow_minimum=True, integer=True),
        default=None,
        help="requirement rows judged at once per target, sharing its rate limit and budgets (default 8; "
        "1: one after another)",
    )
    run.add_argument(
        "--baseline",
        type=text_file("--baseline"),
        action="append",
        default=[],
        help="previous results.json: regressions",
    )
    run.add_argument(
        "--expectations",
        type=text_file("--expectations"),
        action="append",
        default=[],
        help="known failures (YAML or TOML)",
    )
    run.add_argument("--fail-on", choices=("must", "should", "regression"), default="must", help="gate (default must)")
    run.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="FORMAT",
        help="a report to write (repeatable): results, summary, junit, allure, har (run.har of every exchange); "
        "default: results, summary, junit, allure",
    )
    flags.add_flags(run)
    run.add_argument("-q", "--quiet", action="store_true", help="no progress while the run works (the table stays)")

    serve = sub.add_parser("mock", help="serve one vendor's reference mock with uvicorn")
    if command in (None, "mock"):
        _add_mock_arguments(serve)

    selftest = sub.add_parser("selftest", help="run the suite against every fault of the mocks; all must be caught")
    selftest.add_argument("--vendor", action="append", default=[], help="limit to these vendors")
    selftest.add_argument("--vendor-dir", action="append", default=[], type=Path, help=VENDOR_DIR_HELP)
    selftest.add_argument("--fault", action="append", default=[], help="limit to these faults")
    selftest.add_argument(
        "--quirk", action="append", default=[], help="limit the must-stay-clean quirk cases to these quirks"
    )
    selftest.add_argument("--no-quirks", action="store_true", help="run no quirk case")
    selftest.add_argument(
        "--mutants",
        action="store_true",
        help="run the spec-derived mutants instead of the faults: prints the mutation score and the survivors",
    )
    selftest.add_argument("--mutant", action="append", default=[], help="run only these mutants (repeatable)")
    selftest.add_argument("--requirement", action="append", default=[], help="judge only these requirement ids")
    selftest.add_argument("--profile", default="quick")
    selftest.add_argument("--seed", type=_SEED, default=1)
    selftest.add_argument("--report-dir", type=output_dir("--report-dir"), default=Path("reports") / "selftest")
    selftest.add_argument(
        "--jobs",
        type=_JOBS,
        default=None,
        help="cases run at once, in that many worker processes (default: one per CPU; 1: one by one, in this process)",
    )
    selftest.add_argument("-q", "--quiet", action="store_true", help="print only the cases that are not ok")
    run.set_defaults(handler=_cmd_run)
    serve.set_defaults(handler=_cmd_mock)
    selftest.set_defaults(handler=_cmd_selftest)
    for module_name in EXTRA_COMMANDS:
        importlib.import_module(module_name).add_parser(sub)
    return parser


def _add_mock_arguments(serve: argparse.ArgumentParser) -> None:
    """The arguments of ``conformance mock`` (they name the mocks: built only when that command, or every one, is
    parsed, so ``run`` does not import the mocks and uvicorn)."""
    from conformance import mock

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
    serve.add_argument("--delete-delay", type=_DELAY, default=0.0, help="seconds before a deleted resource disappears")
    serve.add_argument("--seed-id", action="append", default=[], help="a resource present at start (repeatable)")
    serve.add_argument(
        "--max-resources",
        type=number_flag("--max-resources", minimum=1, allow_minimum=True, integer=True),
        default=mock.MockOptions().max_resources,
        help="resources the mock keeps at most; a create past it is refused (default %(default)s)",
    )
    serve.add_argument(
        "--max-store-bytes",
        type=number_flag("--max-store-bytes", minimum=1, allow_minimum=True, integer=True),
        default=mock.MockOptions().max_store_bytes,
        help="bytes of stored resources the mock keeps at most (default %(default)s, 64 MiB)",
    )
    serve.add_argument("--list-faults", action="store_true", help="list the faults of the vendor(s) and exit")
    serve.add_argument("--mutant", default=None, help="apply one spec-derived mutant (see --list-mutants)")
    serve.add_argument(
        "--list-mutants", action="store_true", help="list the mutants derived from the vendor(s)' specs and exit"
    )
    serve.add_argument("--list-quirks", action="store_true", help="list the quirks of the vendor(s) and exit")


def _use_vendor_dirs(args: argparse.Namespace) -> None:
    from conformance.catalog.loader import add_vendor_dirs, vendor_names

    if args.vendor_dir:
        add_vendor_dirs(args.vendor_dir)
    known = vendor_names()
    unknown = [v for v in args.vendor if v not in known]
    if unknown:
        raise UsageError(f"unknown vendor {unknown[0]!r} (known: {', '.join(known)})")


def check_requirements(ids: Sequence[str], vendors: Sequence[str]) -> None:
    """A ``UsageError`` naming any ``--requirement`` that the named vendors' (default: every) catalog lacks."""
    from conformance.catalog.loader import vendor_names
    from conformance.run.runner import check_requirements as check

    check(ids, list(vendors) or list(vendor_names()))


def check_seed_ids(ids: Sequence[str]) -> None:
    """A ``UsageError`` for a seeded id that no delete could name (empty, or with a '/')."""
    for key in ids:
        if not key or "/" in key or not key.strip():
            raise UsageError(f"--seed-id {key!r}: an id is a non-empty path segment (no '/')")


def _cmd_run(args: argparse.Namespace) -> ExitCode:
    _use_vendor_dirs(args)
    from conformance import gating
    from conformance.catalog.loader import vendor_names
    from conformance.catalog.profiles import get_profile
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
        workers=args.workers,
        allow_destructive=args.allow_destructive,
        headers=dict(args.headers),
        verify=args.tls_verify,
        proxy=args.proxy,
    )
    targets, report_root = resolve_targets(
        names=args.target, config_path=args.config, vendors=args.vendor, base_url=args.base_url, overrides=overrides
    )
    get_profile(args.profile)  # an unknown profile, a bad baseline or expectations file: usage errors, even dry
    check_requirements(args.requirement, args.vendor)
    gating.load_inputs(fail_on=args.fail_on, baseline=args.baseline, expectations=args.expectations)
    flags.check_live_only(args, bool(targets))
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
        jobs=args.jobs or 0,
        workers=args.workers,
        report_root=report_root or Path("reports"),
        reports=_report_formats(args.report),
    )
    from conformance.run.progress import shown

    names = [t.name for t in targets] or [f"{v}-mock" for v in (args.vendor or vendor_names())]
    with shown(request, quiet=args.quiet, targets=names):
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


def _report_formats(asked: Sequence[str]) -> tuple[str, ...]:
    """The formats ``--report`` asks for (results.json always), or the default set; ``UsageError`` if unknown."""
    from conformance.reports.writers import RUN_FORMATS, check_formats

    if not asked:
        return RUN_FORMATS
    if "matrix" in asked:
        raise UsageError("--report matrix: the matrix merges several runs, see `conformance report`")
    return tuple(check_formats(["results", *asked]))


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
    if args.list_mutants:
        from conformance.mock._mutants import default_spec_dir, mutants_of

        for vendor in [args.vendor] if args.vendor else mock.vendors():
            if vendor not in mock.vendors():
                raise UsageError(f"unknown vendor {vendor!r} (known: {', '.join(mock.vendors())})")
            for name, mutant in mutants_of(vendor, default_spec_dir(vendor)).items():
                note = " (equivalent)" if mutant.equivalent else ""
                print(f"{vendor:<8} {name:<64} {mutant.kind:<18} {mutant.description}{note}")
        return ExitCode.CONFORMANT
    if not args.vendor:
        raise UsageError("mock needs --vendor (one of: " + ", ".join(mock.vendors()) + ")")
    if args.vendor not in mock.vendors():
        raise UsageError(f"unknown vendor {args.vendor!r} (known: {', '.join(mock.vendors())})")
    check_seed_ids(args.seed_id)
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
                mutant=args.mutant,
                max_resources=args.max_resources,
                max_store_bytes=args.max_store_bytes,
            ),
        )
    except ValueError as exc:  # an unknown fault, seed ids beyond the store's limits
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

    check_requirements(args.requirement, args.vendor)

    return run_selftest(
        vendors=args.vendor,
        faults=args.fault,
        quirks=None if args.no_quirks else args.quirk,
        mutants=args.mutant if (args.mutants or args.mutant) else None,
        profile=args.profile,
        seed=args.seed,
        report_dir=args.report_dir,
        requirements=args.requirement,
        jobs=args.jobs,
        quiet=args.quiet,
    )


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option), or None."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _debug_wanted(argv: Sequence[str]) -> bool:
    """Whether ``--debug`` comes before the command (how the top-level parser reads it)."""
    for arg in argv:
        if arg == "--debug":
            return True
        if not arg.startswith("-"):
            return False
    return False


# OSError numbers that come from what the user gave (a path that is a file, missing, not writable, too long).
_USER_ERRNOS = frozenset(
    {
        errno.ENOENT,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.EEXIST,
        errno.EACCES,
        errno.EPERM,
        errno.EROFS,
        errno.ENAMETOOLONG,
        errno.ELOOP,
    }
)


def _one_line(text: object) -> str:
    """``text`` on one line (a message with a newline in it would look like two errors)."""
    return " ".join(str(text).split()) or "(no message)"


def _fail(message: str, code: ExitCode, debug: bool) -> int:
    """Print each line of ``message`` as one ``conformance: error:`` line (and the traceback if asked); ``code``."""
    if debug:
        traceback.print_exc()
    lines = [line for line in str(message).splitlines() if line.strip()] or ["(no message)"]
    for line in lines:
        print(f"conformance: error: {line}", file=sys.stderr)
    return int(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``conformance`` command: the error boundary of every subcommand.

    A user's mistake is one line and exit 2, an infrastructure problem one line and exit 3, an unexpected
    internal exception one line naming it and exit 3; a traceback only with ``conformance --debug COMMAND``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_wanted(argv)
    try:
        with heap.paused():  # no garbage collection while start-up imports and loads (conformance/run/heap.py)
            args = build_parser(_command(argv)).parse_args(argv)
            if args.handler is not _cmd_run:
                heap.settle()  # a run settles when its judging starts; the other commands now
            return int(args.handler(args))
    except ConformanceError as exc:
        return _fail(str(exc), exc.exit_code, debug)
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except UnicodeDecodeError as exc:
        return _fail(f"an input is not UTF-8 text: {_one_line(exc)}", ExitCode.USAGE, debug)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        text = f"cannot use {where}{exc.strerror or _one_line(exc)}"
        return _fail(text, ExitCode.USAGE if exc.errno in _USER_ERRNOS else ExitCode.INFRASTRUCTURE, debug)
    except Exception as exc:  # the last boundary: a bug is one line and exit 3, never a traceback by default
        return _fail(
            f"internal error: {type(exc).__name__}: {_one_line(exc)[:300]} (run again with --debug for the traceback)",
            ExitCode.INFRASTRUCTURE,
            debug,
        )


if __name__ == "__main__":
    sys.exit(main())
