"""The embedded runtime: simulator, NetMCP management and tool servers, and all stages in one process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

from actuators import (
    ApprovalBook,
    Decider,
    Executor,
    GuardConfig,
    Guards,
    Inventory,
    PolicyTable,
    TelemetryTwin,
    Verifier,
    WorkflowEngine,
    effect_model,
)
from actuators.awareness import Reaches
from actuators.catalogue import check_policies
from detectors import SymptomProfiles, shipped_classifier, shipped_profiles
from netmcp import ExecutionContext
from schemas import EntityKind, MaintenanceWindow, topics
from schemas.catalogue import Catalogue, builtin_catalogue, load_catalogue
from simulator import Network, Scenario
from streams.metrics import LoopMetrics
from streams.recording.recorder import Recorder
from streams.runtime.bus import EmbeddedBus
from streams.runtime.control import ControlServer
from streams.runtime.pipeline import Pipeline, Stage
from streams.runtime.shards import StateBounds
from streams.runtime.stages import (
    ActStage,
    DecideStage,
    DetectorConfig,
    DetectStage,
    LocalizeStage,
    VerifyStage,
)
from streams.settings import Settings
from streams.tools.catalogue import policy_catalogue
from streams.tools.runtime import NetMcpRuntime


@dataclass
class LoopState:
    """What the live view and the report read after each tick."""

    network: Network
    recorder: Recorder
    metrics: LoopMetrics
    bus: EmbeddedBus
    executor: Executor
    netmcp: NetMcpRuntime
    twin: TelemetryTwin | None = None
    entity_reports: int = 0


_LOAD_REPORT_TICKS = 5  # tool servers' load reports (heartbeats), well inside the registry's timeout
TickHook = Callable[[LoopState], Awaitable[None] | None]


def load_policies(settings: Settings) -> PolicyTable:
    """The user's policy file if one is set, else the default table, checked against the tool and
    fault catalogues (``PolicyError`` naming the file and the field if bad)."""
    table = PolicyTable.load(settings.policies) if settings.policies else PolicyTable.default()
    check_policies(table, policy_catalogue(), str(settings.policies or "built-in policies"))
    return table


def catalogue_of(settings: Settings) -> Catalogue:
    """The deployment's KPI catalogue (``CatalogueError`` naming the file and the field if bad), else the
    simulated network's."""
    return load_catalogue(settings.catalogue) if settings.catalogue else builtin_catalogue()


def loop_stages(settings: Settings, policies: PolicyTable, *, act: bool,
                executor: Executor | None, on_rows: Callable[[int], None] | None,
                extra: list[Stage], twin: TelemetryTwin | None = None,
                approvals: ApprovalBook | None = None, catalogue: Catalogue | None = None) -> list[Stage]:
    """The stages of the loop in order; without an executor there is no act stage. ``catalogue``:
    the kinds and KPIs of the telemetry (default: the settings')."""
    s = settings
    catalogue = catalogue or catalogue_of(settings)
    stages: list[Stage] = [
        DetectStage(detector_config(settings), on_rows=on_rows, catalogue=catalogue),
        LocalizeStage(unremedied=shipped_classifier().types - policies.fault_types(), catalogue=catalogue),
        DecideStage(decider(settings, policies, act=act and executor is not None, twin=twin,
                            approvals=approvals)),
    ]
    if executor is not None:
        stages.append(ActStage(workflow_engine(executor, policies)))
    stages.append(VerifyStage(Verifier(recovery_ticks=s.recovery_ticks, verify_ticks=s.verify_ticks,
                                       max_attempts=s.max_attempts, effects=effect_model())))
    return stages + extra


def detector_config(settings: Settings) -> DetectorConfig:
    """The detect stage's detectors and the bounds of its state, from the settings."""
    s = settings
    bounds = StateBounds(max_shards=s.detect_max_shards, max_entities=s.detect_max_entities,
                         ttl_s=s.detect_state_ttl_s, max_ahead=s.tick_max_ahead)
    return DetectorConfig(level=s.anomaly_level, bounds=bounds)


def decider(settings: Settings, policies: PolicyTable, *, act: bool, twin: TelemetryTwin | None,
            approvals: ApprovalBook | None) -> Decider:
    """The decide step with the guards, twin and approval gate the settings ask for."""
    s = settings
    guards = Guards(GuardConfig(window_ticks=s.guard_window_ticks, per_entity=s.guard_per_entity,
                                per_tool=s.guard_per_tool, blast_radius=s.guard_blast_radius))
    book = approvals or approval_book(settings)
    return Decider(policies, act=act, guards=guards, approvals=book, twin=twin,
                   inventory=twin.inventory if twin is not None else Inventory(),
                   twin_horizon=s.twin_horizon, act_above=s.twin_act_above, veto_below=s.twin_veto_below,
                   approval_below=s.approval_below, reaches=learned_reach(shipped_profiles()))


def learned_reach(profiles: SymptomProfiles) -> Reaches:
    """What a fault type does behind its root, from the localizer's learned symptom profiles: the
    decide stage's test of whether a lone cell's symptoms are an NF or link fault's."""
    def reaches(fault_type: str, root_kind: EntityKind, kind: EntityKind, kpi: str) -> bool:
        return any(profiles.explains(p, kind, kpi, on_root=False)
                   for p in profiles.of_kind(root_kind) if p.fault_type == fault_type)
    return reaches


def approval_book(settings: Settings) -> ApprovalBook:
    """Pending approvals; unanswered ones become the settings' unattended default after the timeout."""
    s = settings
    return ApprovalBook(timeout_ticks=s.approval_timeout_ticks, unattended=s.approval_unattended)


def workflow_engine(executor: Executor, policies: PolicyTable) -> WorkflowEngine:
    """Runs workflows in the execution context the NetMCP caller passes along with each call."""
    context = getattr(executor.caller, "context", None)
    return WorkflowEngine(executor=executor, policies=policies,
                          context=context or (lambda action_id: ExecutionContext(action_id)))


class EmbeddedLoop:
    """Runs a scenario through the whole loop, tick by tick.

    After each tick's telemetry is published the bus is drained, so every
    stage has seen the tick before the next one starts: a run is
    reproducible for a seed, whatever the speed.
    """

    def __init__(self, scenario: Scenario, settings: Settings, *, act: bool = True,
                 metrics: LoopMetrics | None = None, taps: list[Stage] | None = None,
                 netmcp_http: bool = False, control: bool = False) -> None:
        self.scenario, self.settings, self.act = scenario, settings, act
        self.control = control
        self.netmcp_http = netmcp_http
        self.network = Network.from_scenario(scenario)
        self.bus = EmbeddedBus(maxsize=settings.queue_size)
        self.metrics = metrics or LoopMetrics()
        self.recorder = Recorder()
        self.taps = taps or []
        self.policies = load_policies(settings)
        self.approvals = approval_book(settings)
        self._pipeline: Pipeline | None = None

    async def run(self, *, ticks: int | None = None, speed: float | None = None,
                  on_tick: TickHook | None = None) -> LoopState:
        """Run ``ticks`` ticks (default: the scenario's), paced at ``speed`` ticks/s if given.

        With ``control`` the loop serves its control endpoint (:mod:`streams.runtime.control`) meanwhile.
        """
        async with AsyncExitStack() as stack:
            if self.control:
                await stack.enter_async_context(ControlServer(self.approvals,
                                                              state_dir=self.settings.state_dir))
            return await self._run(ticks, speed, on_tick)

    async def _run(self, ticks: int | None, speed: float | None, on_tick: TickHook | None) -> LoopState:
        async with NetMcpRuntime(self.network, http=self.netmcp_http) as netmcp:
            assert netmcp.caller is not None
            state = LoopState(self.network, self.recorder, self.metrics, self.bus,
                              Executor(caller=netmcp.caller), netmcp=netmcp, twin=TelemetryTwin())

            def count_rows(n: int) -> None:
                state.entity_reports += n
                self.metrics.entity_reports.inc(n)

            stages = loop_stages(self.settings, self.policies, act=self.act,
                                 executor=state.executor, on_rows=count_rows,
                                 extra=[self.recorder, *self.taps], twin=state.twin,
                                 approvals=self.approvals)
            async with Pipeline(stages, bus=self.bus, metrics=self.metrics) as pipeline:
                self._pipeline = pipeline
                for rec in self.network.topology_records():
                    await self.bus.publish(topics.TOPOLOGY, rec.entity_id, rec.encode())
                await self.bus.drain()
                await self._ticks(state, ticks or self.scenario.ticks, speed, on_tick)
        return state

    async def _ticks(self, state: LoopState, ticks: int, speed: float | None,
                     on_tick: TickHook | None) -> None:
        start = time.perf_counter()
        for n in range(min(ticks, self.scenario.ticks)):
            await self.publish_tick()
            if n % _LOAD_REPORT_TICKS == 0:
                await state.netmcp.report_loads()
            if on_tick is not None:
                result = on_tick(state)
                if asyncio.iscoroutine(result):
                    await result
            if speed:
                await asyncio.sleep(max(0.0, start + (n + 1) / speed - time.perf_counter()))

    async def publish_tick(self) -> None:
        """Step the network one tick, publish its telemetry, run every stage to quiescence."""
        assert self._pipeline is not None, "publish_tick runs inside run()"
        tick = self.network.tick
        frames = self.network.step()
        for notice in self.network.notices():
            key = notice.window_id if isinstance(notice, MaintenanceWindow) else notice.entity_id
            await self.bus.publish(notice.topic, key, notice.encode())
        for frame in frames:
            await self.bus.publish(topics.TELEMETRY, frame.shard, frame.encode())
        await self._pipeline.close_tick(tick)

    async def inject(self, topic: str, key: str | None, value: bytes) -> None:
        """Publish raw bytes as an outside producer would (tests, replay)."""
        await self.bus.publish(topic, key, value)
        await self.bus.drain()
