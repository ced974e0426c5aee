"""``netloop bench --fuzz N`` and ``--soak MINUTES``: the loop under a stream of hostile records.

- **fuzz**: a scenario runs twice, once clean and once with ``N`` hostile records
  (:mod:`streams.bench.hostile`) mixed into its telemetry and its own topics, and
  hostile tool calls at its tool servers. It reports the bad records and how many
  became dead letters with a reason, stage crashes (records a stage failed on
  with an exception), and both runs' faults detected, localized and remediated.
- **soak**: a long scenario with random faults runs for ``MINUTES`` with hostile
  records every tick; the resident memory is sampled as it goes. Detector state
  lives ``ttl_s`` seconds unseen, so the fakes' state turns over many times.
  Ticks come at a steady ``ticks_per_s``, as a network sends them: the hostile
  state alive at any moment is what arrived in the last ``ttl_s`` seconds, so
  an unpaced soak's memory follows the machine's speed (it rose with the tick
  rate when other work on the machine ended), not time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from netmcp import NetMcpClient
from schemas import DeadLetter, TelemetryFrame, topics
from simulator import Scenario, load_scenario, parse_scenario
from streams.bench.hostile import Hostile, HostileRecords
from streams.evaluate.report import RunReport, build_report
from streams.metrics import LoopMetrics
from streams.runtime.bus import Message
from streams.runtime.embedded import EmbeddedLoop, LoopState
from streams.settings import Settings

HOSTILE_KEY = "hostile:"  # the injector's records carry it, so the taps keep only the network's frames


class _Taps:
    """The latest frame of each shard, and (``digests``) a digest of every dead letter's bytes.

    The digests grow with the letters: a fuzz run wants them, a soak must not keep them.
    """

    name = "hostile-taps"
    topics = (topics.TELEMETRY, topics.DLQ)

    def __init__(self, *, digests: bool = True) -> None:
        self.frames: dict[tuple[str, str], TelemetryFrame] = {}
        self.digests = digests
        self.lettered: set[bytes] = set()
        self.without_reason = 0

    async def handle(self, msg: Message) -> list:
        if msg.topic == topics.DLQ:
            letter = DeadLetter.decode(msg.value)
            if self.digests:
                self.lettered.add(hashlib.sha256(letter.raw).digest())
            self.without_reason += not letter.reason.strip()
        elif not (msg.key or "").startswith(HOSTILE_KEY):
            frame = TelemetryFrame.decode(msg.value)  # the network's own frames are always valid
            self.frames[(frame.shard, frame.kind.value)] = frame
        return []

    async def on_tick(self, tick: int) -> list:
        return []


@dataclass
class FuzzOutcome:
    """What a fuzzed run did with the hostile records it got, and its report."""

    report: RunReport
    bad: int = 0
    bad_lettered: int = 0
    taken: int = 0
    calls: int = 0
    calls_refused: int = 0
    crashes: int = 0
    letters_without_reason: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


class _Injector:
    """Sends a share of the hostile records each tick, and hostile tool calls every few ticks."""

    def __init__(self, loop: EmbeddedLoop, taps: _Taps, records: HostileRecords, per_tick: float,
                 calls_every: int = 10) -> None:
        self.loop, self.taps, self.records, self.per_tick = loop, taps, records, per_tick
        self.calls_every = calls_every
        self.bad_digests: list[bytes] = []  # fuzz only: the soak's injector keeps none (see _count)
        self.counts = {"bad": 0, "taken": 0, "calls": 0, "calls_refused": 0}
        self.kinds: dict[str, int] = {}
        self._owed = 0.0

    async def __call__(self, state: LoopState) -> None:
        frames = list(self.taps.frames.values())
        if not frames:
            return
        self._owed += self.per_tick
        rng = self.records.rng
        while self._owed >= 1.0:
            self._owed -= 1.0
            frame = frames[int(rng.integers(len(frames)))]
            r = rng.random()
            h = self.records.bad(frame) if r < 0.8 else (
                self.records.taken(frame) if r < 0.95 else self.records.other_topic())
            await self.loop.bus.publish(h.topic, f"{HOSTILE_KEY}{h.key}", h.raw)
            self._count(h)
        await self.loop.bus.drain()
        if state.network.tick % self.calls_every == 0:
            await self._calls(state)

    def _count(self, h: Hostile) -> None:
        self.kinds[h.kind] = self.kinds.get(h.kind, 0) + 1
        if h.bad:
            self.counts["bad"] += 1
            if self.taps.digests:
                self.bad_digests.append(hashlib.sha256(h.raw).digest())
        else:
            self.counts["taken"] += 1

    async def _calls(self, state: LoopState) -> None:
        """An outsider at a tool server: keyed reads with guessed action ids, a huge refused call."""
        server = next(iter(state.netmcp.servers.values()))
        async with NetMcpClient(server) as c:
            tick = state.network.tick
            for n in range(3):
                await c.call("get_entity_kpis", {"entity_id": "link-0001"},
                             action_id=f"INC-{tick - n:06d}-link-0001/0")
                self.counts["calls"] += 1
            for args in ({"cell_id": "cell-0001-1", "force": "x" * 100_000},
                         {"cell_id": "cell-0001-1"}):
                self.counts["calls"] += 1
                try:
                    await c.call("restart_cell", args, action_id=f"INC-{tick:06d}-cell-0001-1/0")
                except Exception:  # noqa: BLE001 - every refusal counts the same here
                    self.counts["calls_refused"] += 1


def _run(scenario: Scenario, settings: Settings, hook: Callable | None,
         taps: _Taps, speed: float | None = None) -> tuple[RunReport, LoopMetrics]:
    metrics = LoopMetrics(CollectorRegistry())

    async def go() -> LoopState:
        loop = EmbeddedLoop(scenario, settings, metrics=metrics, taps=[taps])
        return await loop.run(on_tick=hook(loop) if hook is not None else None, speed=speed)

    start = time.perf_counter()
    state = asyncio.run(go())
    report = build_report(state.network, state.recorder, wall_seconds=time.perf_counter() - start,
                          entity_reports=state.entity_reports)
    return report, metrics


def fuzz_run(records: int, *, scenario: str = "smoke", seed: int = 0,
             settings: Settings | None = None) -> tuple[RunReport, FuzzOutcome]:
    """The clean report of ``scenario`` and the outcome of the same run with ``records`` hostile ones."""
    settings = settings or Settings()
    sc = load_scenario(scenario)
    clean, _ = _run(sc, settings, None, _Taps())
    taps, injectors = _Taps(), []

    def hook(loop: EmbeddedLoop) -> _Injector:
        injectors.append(_Injector(loop, taps, HostileRecords(seed), records / max(1, sc.ticks - 1)))
        return injectors[0]

    report, metrics = _run(sc, settings, hook, taps)
    inj = injectors[0]
    outcome = FuzzOutcome(report=report, bad=inj.counts["bad"], taken=inj.counts["taken"],
                          calls=inj.counts["calls"], calls_refused=inj.counts["calls_refused"],
                          bad_lettered=sum(d in taps.lettered for d in inj.bad_digests),
                          crashes=int(_errors(metrics)), letters_without_reason=taps.without_reason,
                          kinds=dict(sorted(inj.kinds.items())))
    return clean, outcome


def _errors(metrics: LoopMetrics) -> float:
    """Dead letters of records a stage failed on with an exception (``reason="error"``)."""
    total = 0.0
    for family in metrics.dead_letters.collect():
        total += sum(s.value for s in family.samples
                     if s.name.endswith("_total") and s.labels.get("reason") == "error")
    return total


_SOAK = """
name: soak
seed: 11
ticks: 5000000
tick_seconds: 60
warmup_ticks: 150
topology: {sites: 6, cells_per_site: 3, upf: 2, smf: 1, amf: 1}
random_faults: {count: 5000, min_gap: 400, duration: [60, 200]}
"""


def rss_mb() -> float:
    """The process's resident memory now, MB (Linux ``/proc``; else the peak so far)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Stop(Exception):
    """The soak's time is up."""


SOAK_TICKS_PER_S = 8.0
"""The soak's pace: well under what this shared 2-core machine sustains beside a test run
(about 12 ticks/s), so that the pace holds."""


def soak(minutes: float, *, per_tick: float = 20.0, sample_s: float = 60.0, ttl_s: float = 60.0,
         ticks_per_s: float | None = SOAK_TICKS_PER_S,
         report: Callable[[dict[str, float]], None] = print) -> list[dict[str, float]]:
    """Run the soak for ``minutes`` at ``ticks_per_s`` (None: as fast as it goes); ``report`` gets a
    sample every ``sample_s`` seconds (all returned)."""
    settings = Settings(detect_state_ttl_s=ttl_s)
    scenario = parse_scenario(_SOAK, "soak")
    taps, samples = _Taps(digests=False), []
    start = last = time.monotonic()

    def hook(loop: EmbeddedLoop) -> Callable:
        # hostile calls every tick: the tool server's audit buffer reaches its bound in minutes
        inject = _Injector(loop, taps, HostileRecords(3, fake_entities=2000), per_tick, calls_every=1)

        async def tick(state: LoopState) -> None:
            nonlocal last
            await inject(state)
            now = time.monotonic()
            if now - last >= sample_s or not samples or now - start >= minutes * 60:
                last = now
                samples.append({"minutes": (now - start) / 60, "ticks": state.network.tick,
                                "hostile": sum(inject.kinds.values()),
                                "dead_letters": state.recorder.dead_letter_count, "rss_mb": rss_mb()})
                report(samples[-1])
            if now - start >= minutes * 60:
                raise _Stop

        return tick

    with contextlib.suppress(_Stop):
        _run(scenario, settings, hook, taps, speed=ticks_per_s)
    return samples


@dataclass(frozen=True)
class Drift:
    """How the resident memory moved from a baseline sample on: range and least-squares slope."""

    base_mb: float
    low_mb: float
    high_mb: float
    slope_mb_per_10min: float

    @property
    def band_pct(self) -> tuple[float, float]:
        """The lowest and highest sample as a change from the baseline, percent."""
        return (self.low_mb / self.base_mb - 1) * 100, (self.high_mb / self.base_mb - 1) * 100


def drift(samples: list[dict[str, float]], after_minutes: float) -> Drift | None:
    """The drift of ``rss_mb`` over the samples from ``after_minutes`` on (None: fewer than two).

    >>> d = drift([{"minutes": m, "rss_mb": 100 + m} for m in range(6)], 2)
    >>> d.base_mb, d.high_mb, round(d.slope_mb_per_10min, 6), [round(p, 1) for p in d.band_pct]
    (102, 105, 10.0, [0.0, 2.9])
    """
    steady = [(s["minutes"], s["rss_mb"]) for s in samples if s["minutes"] >= after_minutes]
    if len(steady) < 2:
        return None
    xs, ys = [m for m, _ in steady], [r for _, r in steady]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in steady) / sum((x - mx) ** 2 for x in xs)
    return Drift(base_mb=ys[0], low_mb=min(ys), high_mb=max(ys), slope_mb_per_10min=10 * slope)
