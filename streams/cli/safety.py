"""Commands a human uses to oversee the loop: answer approval requests, read the audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import httpx
import typer

from streams.cli.common import LOOP, app, fail, read_settings

approvals_app = typer.Typer(help="Actions waiting for a human's approval in a running loop.",
                            no_args_is_help=True)
app.add_typer(approvals_app, name="approvals", rich_help_panel=LOOP)
ControlOpt = Annotated[Path | None, typer.Option(
    "--control-file", help="the running loop's control.json (default: STATE_DIR/control.json)")]


def _control(path: Path | None) -> tuple[str, dict[str, str]]:
    path = path or read_settings().state_dir / "control.json"
    try:
        info = json.loads(path.read_text())
    except OSError:
        raise fail(f"no running loop with a control endpoint: cannot read {path} "
                   "(start it with `netloop run --control`)") from None
    return info["url"], {"authorization": f"Bearer {info['token']}"}


def _request(method: str, path: str, control: Path | None) -> object:
    url, headers = _control(control)
    try:
        resp = httpx.request(method, url + path, headers=headers, timeout=10.0)
    except httpx.HTTPError as exc:
        raise fail(f"the loop at {url} does not answer: {exc}") from None
    body = resp.json()
    if resp.status_code != 200:
        raise fail(body.get("error", resp.text) if isinstance(body, dict) else resp.text)
    return body


@approvals_app.command("list")
def approvals_list(control_file: ControlOpt = None) -> None:
    """List approval requests, pending first."""
    found = _request("GET", "/approvals", control_file)
    assert isinstance(found, list)
    if not found:
        typer.echo("no approval requests")
    for a in found:
        typer.echo(f"{a['id']}  {a['status']:8s}  {a['incident']}  {a['tool']} on {a['target']}  "
                   f"(tick {a['requested_tick']}, confidence {a['confidence']:.2f})\n    {a['why']}")


@approvals_app.command("approve")
def approvals_approve(approval_id: str, control_file: ControlOpt = None) -> None:
    """Approve a pending request: the loop acts at its next tick."""
    a = _request("POST", f"/approvals/{approval_id}/approve", control_file)
    assert isinstance(a, dict)
    typer.echo(f"{a['id']} approved: {a['tool']} on {a['target']}")


@approvals_app.command("deny")
def approvals_deny(approval_id: str, control_file: ControlOpt = None) -> None:
    """Deny a pending request: the incident goes to a human."""
    a = _request("POST", f"/approvals/{approval_id}/deny", control_file)
    assert isinstance(a, dict)
    typer.echo(f"{a['id']} denied: {a['tool']} on {a['target']}")


@app.command("audit", rich_help_panel=LOOP)
def audit(
    incident: Annotated[str | None, typer.Option(help="only this incident's decisions")] = None,
    file: Annotated[Path | None, typer.Option(help="audit file (default: STATE_DIR/audit.jsonl)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="the records as JSON Lines")] = False,
) -> None:
    """Print the decision records of the audit trail, with their explanations."""
    from pydantic import ValidationError

    from streams.audit import audit_lines, read_audit

    path = file or read_settings().state_dir / "audit.jsonl"
    try:
        for record in read_audit(path, incident):
            typer.echo(record.model_dump_json() if json_out else "\n".join(audit_lines(record)))
    except OSError as exc:
        raise fail(f"cannot read audit file {path}: {exc.strerror}") from None
    except ValidationError as exc:
        raise fail(f"{path}: not a decision record: {exc.errors()[0]['msg']}") from None
