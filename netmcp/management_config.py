"""Configuration of a management server process: trusted clients, secrets, signing key, timeouts.

A YAML file, read once by the entry point (``netloop netmcp serve --role management``)::

    issuer: netmcp-management          # optional
    token_lifetime_s: 900              # optional
    heartbeat_timeout_s: 15            # optional
    signing_key_file: signing-key.pem  # optional Ed25519 PKCS#8 PEM; a fresh key per start without
    admin_secret_file: admin.secret    # or admin_secret: "..." (≥ 16 characters)
    clients:                           # trusted clients of the client-credentials grant
      - client_id: act-worker
        secret_file: act-worker.secret # or secret: "..." (≥ 16 characters)
        scopes: [network:read, network:act]
      - client_id: emulator
        secret_file: emulator.secret
        scopes: [netmcp:register]

Relative paths are relative to the YAML file; a secret file holds the secret on its
first line (Docker and Kubernetes secrets are mounted that way). Errors name the
file and the field.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from starlette.applications import Starlette

from netmcp.auth import SCOPES, Authority
from netmcp.management import build_management_app
from netmcp.registry import Registry, describe


class ConfigError(ValueError):
    """A management configuration that cannot be used; the message names the file and field."""


class ClientConfig(BaseModel):
    """A trusted client: its id, its secret and the scopes it may request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    secret: SecretStr = Field(min_length=16)
    scopes: tuple[str, ...] = Field(min_length=1)

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: tuple[str, ...]) -> tuple[str, ...]:
        for scope in scopes:
            if scope not in SCOPES:
                raise ValueError(f"unknown scope {scope!r} (known: {', '.join(sorted(SCOPES))})")
        return scopes


class ManagementConfig(BaseModel):
    """Everything a management server process needs besides where to listen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    issuer: str = Field(default="netmcp-management", min_length=1)
    token_lifetime_s: int = Field(default=900, gt=0, le=86_400)
    heartbeat_timeout_s: float = Field(default=15.0, gt=0)
    signing_key_pem: SecretStr | None = None
    admin_secret: SecretStr = Field(min_length=16)
    clients: tuple[ClientConfig, ...] = ()

    @field_validator("clients")
    @classmethod
    def _unique_ids(cls, clients: tuple[ClientConfig, ...]) -> tuple[ClientConfig, ...]:
        ids = [c.client_id for c in clients]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"client_id {twice[0]!r} is listed more than once")
        return clients


@dataclass(frozen=True)
class Management:
    """A management server's parts: what it knows, who it trusts, and its ASGI app."""

    registry: Registry
    authority: Authority
    app: Starlette


def load_management_config(path: str | Path) -> ManagementConfig:
    """Read and check the YAML configuration at ``path``; secret files are read too.

    Raises
    ------
    ConfigError
        Naming the file and the field (``clients.0.scopes: unknown scope ...``).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(f"{path}: cannot read ({e})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: must be a mapping of settings")
    try:
        raw = _read_files(raw, path.parent, "")
        return ManagementConfig.model_validate(raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    except ValidationError as e:
        raise ConfigError(f"{path}: {describe(e)}") from None


def build_management(config: ManagementConfig, *, clock: Callable[[], float] = time.time) -> Management:
    """The registry, authority (with the trusted clients) and app that ``config`` describes."""
    pem = config.signing_key_pem.get_secret_value().encode() if config.signing_key_pem else None
    try:
        authority = Authority(issuer=config.issuer, clock=clock, private_key_pem=pem,
                              token_lifetime_s=config.token_lifetime_s)
    except ValueError as e:
        raise ConfigError(f"signing_key_file: {e}") from None
    for client in config.clients:
        authority.add_client(client.client_id, client.secret.get_secret_value(), client.scopes)
    registry = Registry(clock, heartbeat_timeout_s=config.heartbeat_timeout_s)
    app = build_management_app(registry, authority, admin_secret=config.admin_secret.get_secret_value())
    return Management(registry=registry, authority=authority, app=app)


# "<field>_file: path" stands for "<field>: first line of that file" (the whole file for a key)
_FILE_FIELDS = {"secret_file": "secret", "admin_secret_file": "admin_secret",
                "signing_key_file": "signing_key_pem"}


def _read_files(raw: dict[str, Any], base: Path, where: str) -> dict[str, Any]:
    out = dict(raw)
    for file_field, field in _FILE_FIELDS.items():
        if file_field not in out:
            continue
        if field in out:
            raise ConfigError(f"{where}{file_field}: give {field} or {file_field}, not both")
        file = base / str(out.pop(file_field))
        try:
            text = file.read_text()
        except OSError as e:
            raise ConfigError(f"{where}{file_field}: cannot read {file} ({e.strerror})") from None
        out[field] = text if field == "signing_key_pem" else text.splitlines()[0] if text else ""
    if isinstance(out.get("clients"), list):
        out["clients"] = [_read_files(c, base, f"clients.{i}.") if isinstance(c, dict) else c
                          for i, c in enumerate(out["clients"])]
    return out
