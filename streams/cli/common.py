"""What every netloop command shares: the typer apps, option types, errors, settings."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from schemas.catalogue import CatalogueError, load_catalogue
from simulator import Scenario, ScenarioError, load_scenario, validate_scenario
from streams.settings import Settings

app = typer.Typer(help="netloop: closed-loop assurance for mobile networks.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
netmcp_app = typer.Typer(help="NetMCP tool servers.", no_args_is_help=True)
app.add_typer(netmcp_app, name="netmcp")
schemas_app = typer.Typer(help="The records on the bus.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")

err = Console(stderr=True)

LOOP = "Run the loop"
KAFKA = "Kafka and recordings"
ScenarioOpt = Annotated[str, typer.Option("--scenario", "-s", help="built-in name or YAML path")]
JsonOpt = Annotated[str | None, typer.Option("--json", help="write the JSON report to PATH, or - for stdout")]


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)  # one line, however long
    return typer.Exit(code=2)


def load_checked(name: str) -> Scenario:
    """Load and fully validate a scenario: fields, then targets against its topology."""
    try:
        scenario = load_scenario(name)
        validate_scenario(scenario)
    except ScenarioError as exc:
        raise fail(f"{name}: {exc}" if str(exc).startswith("faults") else str(exc)) from None
    return scenario


def read_settings() -> Settings:
    """The NETLOOP_* settings, with the catalogue they name checked (exit 2 naming the field if bad)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise fail(f"invalid NETLOOP_* setting: {exc}") from None
    if settings.catalogue is not None:
        try:
            load_catalogue(settings.catalogue)
        except CatalogueError as exc:
            raise fail(str(exc)) from None
    return settings


def write_json(dest: str, payload: object) -> None:
    text = json.dumps(payload, indent=2)
    if dest == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(dest).write_text(text + "\n")
