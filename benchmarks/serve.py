"""Serve one app for a load run: a vendor's reference mock (faithful or validating) or a fixed-answer ceiling.

Run as ``python -m benchmarks.serve --app mock --vendor blaxel --port 18000 [--validate] [--seed-count N]``;
it serves on 127.0.0.1 with uvicorn (httptools parser, uvloop loop, no access log, no proxy-header parsing, no
Server header: the settings of ``conformance mock``) in this process.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

FIXED_BODY = b'{"status":"ok"}'
SEED_PREFIX = "bench-d"
# A load run creates or seeds far more resources than `conformance mock`'s defaults keep (10,000, 64 MiB): the
# benchmark lifts the store's bounds so that no answer is a 507 (the bounds are checked the same way either way).
BENCH_MAX_RESOURCES = 10_000_000
BENCH_MAX_STORE_BYTES = 8 << 30


def seed_ids(threads: int, count: int, prefix: str = SEED_PREFIX) -> list[str]:
    """The ids the delete script asks for: ``<prefix><thread>-<n>`` for n in 1..count, per wrk thread."""
    return [f"{prefix}{thread}-{n}" for thread in range(threads) for n in range(1, count + 1)]


def ceiling_app() -> Starlette:
    """A minimal Starlette app answering every request with the same small JSON body (the Python ceiling)."""

    async def fixed(request: Request) -> Response:
        return Response(FIXED_BODY, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", fixed, methods=["GET", "POST", "DELETE"])])


async def _fixed_asgi(scope: Any, receive: Any, send: Any) -> None:
    """A raw ASGI app answering every request with the same small JSON body (the ceiling without a framework)."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(FIXED_BODY))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": FIXED_BODY})


def mock_app(vendor: str, token: str, validate: bool, ids: Sequence[str]) -> Any:
    """The vendor's reference mock, optionally in validating mode, holding ``ids`` at start."""
    from conformance import mock
    from conformance.catalog.loader import specs_dir

    options = mock.MockOptions(
        token=token,
        seed_ids=tuple(ids),
        validate=validate,
        spec_dir=specs_dir() / vendor if validate else None,
        max_resources=BENCH_MAX_RESOURCES,
        max_store_bytes=BENCH_MAX_STORE_BYTES,
    )
    return mock.create_app(vendor, options)


APP_ENV = "CONFORMANCE_BENCH_APP"  # granian imports the app: its arguments travel in this variable (JSON)


def build_app(app: str, vendor: str, token: str, validate: bool, ids: Sequence[str]) -> Any:
    """The app ``--app`` names."""
    if app == "ceiling":
        return ceiling_app()
    if app == "ceiling-asgi":
        return _fixed_asgi
    return mock_app(vendor, token, validate, ids)


def granian_app() -> Any:
    """The app factory granian imports (``benchmarks.serve:granian_app``), reading its arguments from the env."""
    spec = json.loads(os.environ[APP_ENV])
    if spec.get("switch_interval"):
        sys.setswitchinterval(float(spec["switch_interval"]))
    ids = seed_ids(spec["seed_threads"], spec["seed_count"])
    app = build_app(spec["app"], spec["vendor"], spec["token"], spec["validate"], ids)
    gc.freeze()
    return app


def serve_granian(spec: dict[str, Any], port: int, extra: dict[str, Any] | None = None) -> None:
    """Serve with granian 2.x: one worker, one runtime thread, asyncio loop (uvloop when installed), HTTP/1.

    ``extra``: more ``granian.server.Server`` keyword arguments (enum members by value: ``{"runtime_mode": "st"}``),
    and ``switch_interval``, the interpreter's GIL switch interval in the worker (``sys.setswitchinterval``).
    """
    from granian.constants import HTTPModes, Interfaces, Loops, RuntimeModes, TaskImpl
    from granian.server import Server

    os.environ[APP_ENV] = json.dumps(spec)
    kwargs: dict[str, Any] = {
        "address": "127.0.0.1",
        "port": port,
        "interface": Interfaces.ASGI,
        "factory": True,
        "workers": 1,
        "loop": Loops.auto,
        "http": HTTPModes.http1,
        "log_access": False,
        "backlog": 512,
    }
    enums = {
        "interface": Interfaces,
        "loop": Loops,
        "runtime_mode": RuntimeModes,
        "task_impl": TaskImpl,
        "http": HTTPModes,
    }
    for key, value in (extra or {}).items():
        if key == "switch_interval":
            spec[key] = value
            os.environ[APP_ENV] = json.dumps(spec)
            continue
        kwargs[key] = enums[key](value) if key in enums else value
    Server("benchmarks.serve:granian_app", **kwargs).serve()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments and serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--app", choices=("mock", "ceiling", "ceiling-asgi"), required=True)
    parser.add_argument("--vendor", default="")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default="bench-token")
    parser.add_argument("--validate", action="store_true")
    parser.add_argument("--seed-count", type=int, default=0, help="seeded ids per wrk thread")
    parser.add_argument("--seed-threads", type=int, default=2)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--granian-opts", default="{}", help="granian Server keyword arguments (JSON)")
    args = parser.parse_args(argv)
    if args.server == "granian":
        spec = {
            "app": args.app,
            "vendor": args.vendor,
            "token": args.token,
            "validate": args.validate,
            "seed_threads": args.seed_threads,
            "seed_count": args.seed_count,
        }
        serve_granian(spec, args.port, json.loads(args.granian_opts))
        return
    ids = seed_ids(args.seed_threads, args.seed_count)
    app = build_app(args.app, args.vendor, args.token, args.validate, ids)
    gc.freeze()  # what `conformance mock` does too: the start-up heap is never scanned again
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        http="httptools",
        loop="uvloop",
        log_level="warning",
        access_log=False,
        lifespan="off",
        proxy_headers=False,
        server_header=False,
    )


if __name__ == "__main__":
    main()
