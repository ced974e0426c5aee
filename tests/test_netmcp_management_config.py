"""The management server's YAML configuration: trusted clients, secrets, and errors that name the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from netmcp.auth import NETMCP_REGISTER
from netmcp.management_client import ManagementClient
from netmcp.management_config import ConfigError, build_management, load_management_config
from tests.fake_clock import Clock
from tests.test_netmcp_management import ADMIN, SECRETS, against, bearer, record

# --- configuration ---------------------------------------------------------------------------------------

def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "admin.secret").write_text(ADMIN + "\n")
    (tmp_path / "ems.secret").write_text(SECRETS["ems-ran"] + "\n")
    path = tmp_path / "management.yaml"
    path.write_text(text)
    return path


def test_a_configured_management_server_trusts_the_listed_clients(tmp_path: Path) -> None:
    path = write_config(tmp_path, "token_lifetime_s: 300\nadmin_secret_file: admin.secret\nclients:\n"
                                  "  - {client_id: ems-ran, secret_file: ems.secret, "
                                  "scopes: [netmcp:register]}\n")
    management = build_management(load_management_config(path), clock=Clock())

    async def scenario(m: ManagementClient, http: httpx.AsyncClient) -> Any:
        grant = await m.token("ems-ran", SECRETS["ems-ran"])
        await m.register(record("ran-a"), grant.access_token)
        return grant, (await http.get("/consents", headers=bearer(ADMIN))).status_code

    grant, consents_status = against(management.app, scenario)
    assert (grant.expires_in, grant.scope) == (300, NETMCP_REGISTER)
    assert consents_status == 200
    assert [s.record.server_id for s in management.registry.servers()] == ["ran-a"]


@pytest.mark.parametrize(("text", "named"), [
    ("clients: []\n", "admin_secret"),
    ("admin_secret: short\n", "admin_secret"),
    ("admin_secret_file: admin.secret\nclients:\n  - {client_id: x, secret_file: ems.secret, "
     "scopes: [network:write]}\n", "clients.0.scopes"),
    ("admin_secret_file: admin.secret\nclients:\n  - {client_id: x, secret_file: missing.secret, "
     "scopes: [network:read]}\n", "clients.0.secret_file"),
    ("admin_secret_file: admin.secret\ntoken_lifetime: 5\n", "token_lifetime"),
    ("admin_secret_file: admin.secret\nclients:\n  - {client_id: x, secret_file: ems.secret, scopes: "
     "[network:read]}\n  - {client_id: x, secret_file: ems.secret, scopes: [network:read]}\n", "clients"),
    ("- just\n- a list\n", "mapping"),
])
def test_a_bad_configuration_is_refused_naming_the_file_and_field(tmp_path: Path, text: str,
                                                                  named: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as refused:
        load_management_config(path)
    assert str(path) in str(refused.value) and named in str(refused.value)
