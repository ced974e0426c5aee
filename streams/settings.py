"""One frozen settings object, read once at the entry point (environment prefix ``NETLOOP_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Tunables of the loop. ``NETLOOP_ANOMALY_LEVEL=1e-7`` overrides ``anomaly_level``."""

    model_config = SettingsConfigDict(env_prefix="NETLOOP_", frozen=True, extra="ignore")

    queue_size: int = Field(default=4096, ge=16, description="records per stage inbox")
    anomaly_level: float = Field(default=1e-4, gt=0, lt=1, description="tail probability below which "
                                 "a KPI value raises an anomaly (a healthy value is that rare)")
    recovery_ticks: int = Field(default=4, ge=1, description="quiet ticks before resolving")
    verify_ticks: int = Field(default=12, ge=1, description="ticks after an action before retrying")
    max_attempts: int = Field(default=2, ge=1, description="root-cause candidates tried per incident")
    policies: Path | None = Field(
        default=None, description="policy YAML file or directory laid over the built-in policies")
    catalogue: Path | None = Field(
        default=None, description="KPI catalogue YAML: the entity kinds and KPIs the telemetry carries "
        "(default: the simulated 5G network's)")
    guard_window_ticks: int = Field(default=60, ge=1,
                                    description="window of the rate and blast-radius guards")
    guard_per_entity: int = Field(default=2, ge=1, description="actions on one entity per window")
    guard_per_tool: int = Field(default=6, ge=1, description="calls of one tool per window")
    guard_blast_radius: int = Field(default=8, ge=1, description="distinct entities changed per window")
    twin_act_above: float = Field(default=0.5, ge=0, le=1,
                                  description="the twin's chance that an action helps at or above which it "
                                              "goes ahead (below: a human decides)")
    twin_veto_below: float = Field(default=0.2, ge=0, le=1,
                                   description="the twin's chance that an action helps below which "
                                               "it is vetoed")
    twin_horizon: int = Field(default=10, ge=1, le=100, description="ticks the twin looks ahead")
    approval_below: float = Field(default=0.0, ge=0, le=1,
                                  description="confidence below which an action waits for a human")
    approval_timeout_ticks: int = Field(default=30, ge=1, description="ticks a request waits for a human")
    approval_unattended: Literal["deny", "approve"] = Field(
        default="deny", description="what an unanswered approval request becomes after the timeout")
    state_dir: Path = Field(default_factory=lambda: Path.home() / ".netloop",
                            description="where a running loop writes control.json and audit.jsonl")
    broker: str = Field(default="kafka://127.0.0.1:9092", description="Kafka bootstrap, kafka://HOST:PORT")
    partitions: int = Field(default=4, ge=1, description="partitions of netloop.telemetry")
    mcp_url: str = Field(default="http://127.0.0.1:8765/mcp",
                         description="NetMCP tool server the act stage calls")
    app_id: str = Field(default="netloop", description="faust app id: prefix of consumer groups")
    management_url: str | None = Field(
        default=None, description="NetMCP management server: the emulator registers its tool server "
                                  "there, and the act stage discovers tools and gets tokens there")
    client_id: str | None = Field(default=None, description="this process's client at the management server")
    client_secret: str | None = Field(default=None, description="its secret (client-credentials grant)")
    service_area: str = Field(default="default", description="NetMCP service area of the network")
    fetch_max_wait_ms: int = Field(default=1500, ge=1,
                                   description="longest a worker's fetch waits for data (faust's 1500)")
    detect_max_shards: int = Field(default=10_000, ge=1, description="shards the detect stage keeps")
    detect_max_entities: int = Field(default=200_000, ge=1,
                                     description="entities the detect stage keeps state for, over all shards")
    detect_state_ttl_s: float = Field(default=3600.0, gt=0,
                                      description="seconds an unseen shard or entity keeps its state")
    tick_max_ahead: int = Field(default=5, ge=1, description="ticks a frame or tick mark may run ahead of "
                                                             "the latest one seen")

    def management_problem(self) -> str | None:
        """What is missing for the management server to be used, or None when nothing is."""
        if self.management_url is not None and (self.client_id is None or self.client_secret is None):
            return "NETLOOP_MANAGEMENT_URL needs NETLOOP_CLIENT_ID and NETLOOP_CLIENT_SECRET"
        return None
