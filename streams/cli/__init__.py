"""The ``netloop`` command line: typer apps in :mod:`streams.cli.common`, commands in
:mod:`streams.cli.loop` (run, evaluate, bench; root-cause helpers in :mod:`streams.cli.rca`),
:mod:`streams.cli.kafka` (worker, emulate, record, replay, schemas), :mod:`streams.cli.netmcp` (serve,
tools, call), :mod:`streams.cli.safety` (approvals, audit)
and :mod:`streams.cli.ingest` (ingest outside telemetry)."""

from __future__ import annotations

import logging

from streams.cli.common import app

# Importing the command modules registers their commands; the order is the order of --help.
# isort: off
from streams.cli import loop  # noqa: F401
from streams.cli import kafka  # noqa: F401
from streams.cli import netmcp  # noqa: F401
from streams.cli import safety  # noqa: F401
from streams.cli import ingest  # noqa: F401
# isort: on


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("mcp").setLevel(logging.WARNING)
    app()
