"""``conformance targets`` (list and validate the configuration) and ``conformance cleanup`` (retry a run's cleanup)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from conformance.errors import ExitCode, UsageError, text_file


def add_parser(subparsers: Any) -> None:
    """Add the ``targets`` and ``cleanup`` subcommands."""
    targets = subparsers.add_parser(
        "targets",
        help="list and validate the configured live targets (conformance.toml or [tool.conformance])",
        description="Read the configuration, validate every target, and list them with their limits. "
        "Exit 0 when valid, 2 (with a one-line error naming file, target and field) otherwise.",
    )
    targets.add_argument(
        "--config", type=text_file("--config"), help="conformance.toml, or a pyproject.toml with [tool.conformance]"
    )
    targets.set_defaults(handler=cmd_targets)

    cleanup = subparsers.add_parser(
        "cleanup",
        help="retry the cleanup of a run: delete what its ledger still owns",
        description="Read reports/<run-id>/ledger-<target>.jsonl and DELETE every resource the run created that is "
        "not yet confirmed gone, polling each to the target's gone deadline. Exit 0 when nothing is left, 1 when "
        "something still is, 2 on a usage error.",
    )
    cleanup.add_argument("--run-id", required=True, help="the run whose ledger to clean up")
    cleanup.add_argument(
        "--config", type=text_file("--config"), help="configuration of the targets (default: as recorded)"
    )
    cleanup.add_argument("--target", help="only this target's ledger")
    cleanup.add_argument("--report-root", type=Path, help="where run directories are (default: reports)")
    cleanup.set_defaults(handler=cmd_cleanup)


def cmd_targets(args: argparse.Namespace) -> ExitCode:
    """Print every configured target; the configuration is valid when this returns."""
    from conformance.run.plan import limits_text
    from conformance.target.config import load_config

    config = load_config(args.config)
    print(f"{config.path}: {len(config.targets)} target(s), valid")
    for target in config.targets.values():
        token = "set" if os.environ.get(target.token_env) else "NOT SET"
        restricted = ""
        if target.restricted_token_env:
            state = "set" if os.environ.get(target.restricted_token_env) else "NOT SET"
            restricted = f", restricted ${target.restricted_token_env} ({state})"
        if target.other_token_env:
            state = "set" if os.environ.get(target.other_token_env) else "NOT SET"
            restricted += f", second identity ${target.other_token_env} ({state})"
        tls = (
            "verify off" if target.verify is False else f"CA {target.verify}" if isinstance(target.verify, str) else ""
        )
        print(f"{target.name:<24} {target.vendor:<8} {target.base_url}")
        print(f"{'':<24} token ${target.token_env} ({token}){restricted}")
        print(
            f"{'':<24} destructive {'yes' if target.allow_destructive else 'no'}, prefix {target.name_prefix}, "
            f"{len(target.disposable_ids)} disposable id(s){', ' + tls if tls else ''}"
            f"{', headers ' + ', '.join(target.extra_headers) if target.extra_headers else ''}"
        )
        print(f"{'':<24} {limits_text(target)}")
    return ExitCode.CONFORMANT


def _run_dir(root: Path, run_id: str) -> Path:
    """``root/run_id``, or the run directory under ``root`` whose ledgers belong to run ``run_id``."""
    from conformance.target.ledger import Ledger

    if not run_id or "/" in run_id or run_id.startswith("."):
        raise UsageError(f"invalid run id {run_id!r}")
    if (root / run_id).is_dir():
        return root / run_id
    for ledger in sorted(root.glob("*/ledger-*.jsonl")):
        if (Ledger.load(ledger).header or {}).get("run_id") == run_id:
            return ledger.parent
    raise UsageError(f"no run directory of run {run_id} under {root}")


def cmd_cleanup(args: argparse.Namespace) -> ExitCode:
    """Retry the deletion of everything a run's ledgers still own; 1 if anything is left."""
    from conformance.catalog.loader import load_vendor
    from conformance.catalog.profiles import get_profile
    from conformance.redact import Redactor
    from conformance.target.config import load_config
    from conformance.target.context import retry_cleanup
    from conformance.target.ledger import Ledger
    from conformance.target.model import Target

    config = load_config(args.config) if args.config else None
    root = args.report_root or (config.report_root if config and config.report_root else Path("reports"))
    folder = _run_dir(root, args.run_id)
    ledgers = sorted(folder.glob("ledger-*.jsonl")) + sorted(folder.glob(".sessions/*/ledger-*.jsonl"))
    if args.target:
        ledgers = [p for p in ledgers if p.name == f"ledger-{args.target}.jsonl"]
        if not ledgers:
            raise UsageError(f"no ledger of target {args.target!r} in {folder}")
    if not ledgers:
        raise UsageError(f"no ledger in {folder}: nothing was recorded for run {args.run_id}")
    left = 0
    for path in ledgers:
        name = path.name[len("ledger-") : -len(".jsonl")]
        header = Ledger.load(path).header or {}
        recorded = header.get("target")
        if config is not None and name in config.targets:
            target = config.targets[name]
        elif isinstance(recorded, dict):
            target = Target.from_dict({**recorded, "deadline": None})
        else:
            raise UsageError(f"{path}: no target recorded and none named {name!r} in the configuration (--config)")
        if target.owned:
            print(f"{name}: embedded mock (gone with its run), nothing to clean up")
            continue
        if not os.environ.get(target.token_env):
            print(f"warning: ${target.token_env} is not set; the DELETEs will carry no valid token")
        owned = Ledger.load(path).owned()
        if not owned:
            print(f"{name}: nothing left to clean up")
            continue
        deleted, leaks = retry_cleanup(
            path, target, load_vendor(target.vendor), get_profile("quick"), args.run_id, Redactor()
        )
        for resource_id in deleted:
            print(f"{name}: deleted {resource_id}")
        for resource_id, why in leaks.items():
            print(f"{name}: STILL THERE {resource_id} ({why})")
        left += len(leaks)
    print(f"cleanup of run {args.run_id}: {'nothing left' if not left else f'{left} resource(s) left'}")
    return ExitCode.FAILURES if left else ExitCode.CONFORMANT
