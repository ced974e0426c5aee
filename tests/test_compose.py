"""docker-compose.yml and its deploy/ files, checked statically: no docker engine runs here."""

import json
import re
import shlex
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlparse

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase
from typer.main import get_command
from typer.testing import CliRunner

from schemas import topics
from streams.cli import app
from streams.kafka.topics import partitions_of, topic_configs
from streams.metrics import LoopMetrics
from streams.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict] = COMPOSE["services"]
SAMPLE_SUFFIXES = {"counter": ("_total", "_created"), "gauge": ("",),
                   "histogram": ("_bucket", "_sum", "_count", "_created")}


def _words(value: str | list | None) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value or []]


def _dockerfile_entrypoint() -> list[str]:
    [line] = [ln for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.startswith("ENTRYPOINT")]
    return json.loads(line.removeprefix("ENTRYPOINT"))


def _argv(service: dict) -> list[str]:
    """What the container runs: its entrypoint (the Dockerfile's when built from this repo) + command."""
    entrypoint = service.get("entrypoint", _dockerfile_entrypoint() if "build" in service else [])
    return _words(entrypoint) + _words(service.get("command"))


NETLOOP = {name: _argv(s)[1:] for name, s in SERVICES.items() if _argv(s)[:1] == ["netloop"]}


def _subcommand(args: list[str]) -> list[str]:
    """The leading words of a netloop command line that name a (sub)command."""
    path, cmd = [], get_command(app)
    for word in args:
        sub = getattr(cmd, "commands", {}).get(word)
        if sub is None:
            break
        path.append(word)
        cmd = sub
    return path


def _leaf(path: list[str]):
    """The click command that ``netloop PATH...`` runs."""
    cmd = get_command(app)
    for word in path:
        cmd = cmd.commands[word]
    return cmd


def _option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def _environment(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _bind_mounts(service: dict) -> list[tuple[Path, str]]:
    """(host path, container path) of each bind mount in the short syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append(((ROOT / source).resolve(), target))
    return mounts


def _mounted(service: str, container_path: str) -> Path:
    """The repo file behind ``container_path`` in ``service`` (the file itself or inside a mounted folder)."""
    for source, target in _bind_mounts(SERVICES[service]):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            return source / container_path[len(target):].lstrip("/")
    raise AssertionError(f"{service} mounts nothing at {container_path}")


def _service_running(*subcommand: str) -> str:
    [name] = [n for n, args in NETLOOP.items() if _subcommand(args) == list(subcommand)]
    return name


# -- the netloop services -----------------------------------------------------------------------------


def test_the_compose_file_runs_the_topics_emulator_workers_and_management_server_through_netloop():
    commands = {tuple(_subcommand(args)) for args in NETLOOP.values()}
    assert commands == {("topics", "create"), ("emulate",), ("worker",), ("netmcp", "serve")}


@pytest.mark.parametrize("service", sorted(NETLOOP))
def test_every_netloop_command_is_a_real_subcommand_with_real_options(service):
    args = NETLOOP[service]
    path = _subcommand(args)
    assert path and not getattr(_leaf(path), "commands", None), f"{service}: {args} names no command"
    done = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert done.exit_code == 0, done.output
    for option in {a.split("=")[0] for a in args if a.startswith("--")}:
        assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", done.output), (
            f"{service}: `netloop {' '.join(path)}` has no option {option}")
    # and click parses the whole line: values of the right type, nothing missing
    _leaf(path).make_context(f"netloop {' '.join(path)}", args[len(path):])


def _option_envvars(cmd=None) -> set[str]:
    """The environment variables netloop's command-line options read (besides the settings)."""
    cmd = cmd or get_command(app)
    found = {e for p in cmd.params for e in ([p.envvar] if isinstance(p.envvar, str) else p.envvar or [])}
    for sub in getattr(cmd, "commands", {}).values():
        found |= _option_envvars(sub)
    return found


@pytest.mark.parametrize("service", sorted(NETLOOP))
def test_every_netloop_variable_in_the_compose_file_is_read_by_netloop_and_valid(service, monkeypatch):
    options = _option_envvars()
    for key, value in _environment(SERVICES[service]).items():
        assert key.startswith("NETLOOP_"), key
        setting = key.removeprefix("NETLOOP_").lower() in Settings.model_fields
        assert setting or key in options, f"{service}: netloop reads no {key}"
        monkeypatch.setenv(key, value)
    Settings()


def test_the_workers_run_as_two_replicas_that_each_get_telemetry_partitions():
    worker = SERVICES[_service_running("worker")]
    replicas = worker["deploy"]["replicas"]
    assert replicas == 2
    assert int(_environment(worker)["NETLOOP_PARTITIONS"]) >= replicas


def test_the_act_stage_calls_the_tools_where_the_emulator_serves_them():
    emulator = _service_running("emulate")
    urls = {urlparse(_environment(SERVICES[name])["NETLOOP_MCP_URL"]) for name in NETLOOP}
    assert {(u.hostname, u.port) for u in urls} == {(emulator, 8765)}
    assert "8765" in [p.split(":")[-1] for p in SERVICES[emulator].get("ports", [])]  # for MCP clients


# -- Kafka and the topics -----------------------------------------------------------------------------


def test_kafka_listens_to_the_other_containers_as_kafka_9092_and_has_a_healthcheck():
    kafka = SERVICES["kafka"]
    env = _environment(kafka)
    assert "broker,controller" in env["KAFKA_PROCESS_ROLES"]  # KRaft, no ZooKeeper
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert kafka["healthcheck"]["test"]
    for name in NETLOOP:
        broker = _environment(SERVICES[name]).get("NETLOOP_BROKER")
        assert broker in (None, "kafka://kafka:9092"), name


def test_every_service_on_kafka_waits_for_a_healthy_broker_and_for_the_topics():
    creator = _service_running("topics", "create")
    assert SERVICES[creator]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in (_service_running("emulate"), _service_running("worker")):
        depends = SERVICES[name]["depends_on"]
        assert depends[creator]["condition"] == "service_completed_successfully", name
        assert depends["kafka"]["condition"] == "service_healthy", name


class _Admin:
    """Stands in for aiokafka's admin client: a cluster with no topics that records what it is asked."""

    created: ClassVar[list] = []

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def list_topics(self) -> list[str]:
        return []

    async def create_topics(self, new_topics) -> None:
        _Admin.created.extend(new_topics)


def test_the_topics_step_creates_every_catalogue_topic_with_its_partitions(monkeypatch):
    name = _service_running("topics", "create")
    env = _environment(SERVICES[name])
    monkeypatch.setattr("streams.kafka.topics.AIOKafkaAdminClient", _Admin)
    monkeypatch.setattr(_Admin, "created", [])
    done = CliRunner().invoke(app, NETLOOP[name], env=env)
    assert done.exit_code == 0, done.output
    settings = Settings(partitions=int(env["NETLOOP_PARTITIONS"]))
    asked = {t.name: (t.num_partitions, t.topic_configs) for t in _Admin.created}
    assert asked == {t: (partitions_of(t, settings), topic_configs(t)) for t in topics.ALL_TOPICS}


# -- files the containers mount -----------------------------------------------------------------------


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_file_a_service_mounts_or_builds_from_exists_in_the_repo(service):
    for source, _ in _bind_mounts(SERVICES[service]):
        assert source.exists(), f"{service} mounts {source}, which does not exist"
        assert ROOT in source.parents, f"{service} mounts {source}, outside the repo"
    if "build" in SERVICES[service]:
        context = ROOT / SERVICES[service]["build"]
        assert (context / "Dockerfile").is_file()


@pytest.mark.parametrize("service", sorted(NETLOOP))
def test_every_file_a_netloop_command_is_given_is_mounted_from_the_repo(service):
    for value in NETLOOP[service]:
        if value.startswith("/"):
            assert _mounted(service, value).is_file(), f"{service}: {value}"


def test_the_management_server_accepts_its_configuration():
    from netmcp.management_config import build_management, load_management_config

    name = _service_running("netmcp", "serve")
    args = NETLOOP[name]
    assert _option(args, "--role") == "management"
    assert _option(args, "--host") == "0.0.0.0", "on loopback, no other container could reach it"
    build_management(load_management_config(_mounted(name, _option(args, "--config"))))


def test_every_path_the_dockerfile_copies_exists():
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("COPY"):
            for source in line.split()[1:-1]:
                assert (ROOT / source).exists(), source


# -- Prometheus ---------------------------------------------------------------------------------------


def _prometheus_config() -> dict:
    return yaml.safe_load(_mounted("prometheus", "/etc/prometheus/prometheus.yml").read_text())


def test_prometheus_scrapes_compose_services_and_every_worker_replica():
    scraped: set[str] = set()
    for job in _prometheus_config()["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.split(":")
                assert host in SERVICES, f"{job['job_name']}: {host} is not a compose service"
                _assert_serves_metrics(host, int(port))
                scraped.add(host)
        for dns in job.get("dns_sd_configs", []):
            for host in dns["names"]:
                assert host in SERVICES, f"{job['job_name']}: {host} is not a compose service"
                _assert_serves_metrics(host, dns["port"])
                scraped.add(host)
    assert _service_running("worker") in scraped


def _assert_serves_metrics(service: str, port: int) -> None:
    args = NETLOOP.get(service, [])
    if "--metrics-port" in args:
        assert _option(args, "--metrics-port") == str(port), service
        assert _option(args, "--metrics-host") == "0.0.0.0", f"{service} serves /metrics on loopback only"


# -- Grafana ------------------------------------------------------------------------------------------


def _datasource() -> dict:
    folder = _mounted("grafana", "/etc/grafana/provisioning") / "datasources"
    [source] = [d for f in sorted(folder.glob("*.yml")) for d in yaml.safe_load(f.read_text())["datasources"]]
    return source


def _dashboards() -> list[Path]:
    folder = _mounted("grafana", "/etc/grafana/provisioning") / "dashboards"
    providers = [p for f in sorted(folder.glob("*.yml")) for p in yaml.safe_load(f.read_text())["providers"]]
    found = [f for p in providers for f in sorted(_mounted("grafana", p["options"]["path"]).glob("*.json"))]
    assert found, "the dashboard provider's folder holds no dashboard"
    return found


def test_grafana_reads_prometheus_through_the_provisioned_datasource():
    source = _datasource()
    assert source["type"] == "prometheus"
    url = urlparse(source["url"])
    assert url.hostname == "prometheus" and url.hostname in SERVICES


def _code_metrics() -> dict[str, set[str]]:
    """Every sample name the code can export → the labels it carries."""
    metrics = LoopMetrics(CollectorRegistry())
    labels = {m._name: set(m._labelnames) for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}
    names: dict[str, set[str]] = {}
    for family in metrics.registry.collect():
        for suffix in SAMPLE_SUFFIXES[family.type]:
            names[family.name + suffix] = labels.get(family.name, labels.get(family.name + "_total", set()))
    return names


def _panels(dashboard: dict) -> list[dict]:
    out = []
    for panel in dashboard["panels"]:
        out += _panels(panel) if panel["type"] == "row" else [panel]
    return out


def test_every_dashboard_panel_queries_metrics_the_code_registers_through_the_provisioned_datasource():
    uid, known = _datasource()["uid"], _code_metrics()
    for path in _dashboards():
        dashboard = json.loads(path.read_text())
        assert dashboard["uid"] and dashboard["schemaVersion"] >= 36
        panels = _panels(dashboard)
        assert len({p["id"] for p in panels}) == len(panels)
        for panel in panels:
            assert panel["datasource"]["uid"] == uid, panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target.get("datasource", panel["datasource"])["uid"] == uid, panel["title"]
                _assert_known(target["expr"], known, panel["title"])


def _assert_known(expr: str, known: dict[str, set[str]], title: str) -> None:
    used = re.findall(r"\bnetloop_\w+", expr)
    assert used, f"{title}: {expr} queries no netloop metric"
    for name in used:
        assert name in known, f"{title}: {name} is not a metric the code registers"
    labels = set().union(*(known[n] for n in used)) | {"le", "instance", "job"}
    grouped = re.findall(r"\bby \(([^)]*)\)", expr) + re.findall(r"\{([^}]*)\}", expr)
    for group in grouped:
        for label in re.findall(r"(\w+)\s*(?:=~|!=|!~|=|,|$)", group.strip()):
            assert label in labels, f"{title}: no label {label} on {used}"


def test_the_dashboard_shows_every_part_of_the_loop():
    exprs = " ".join(t["expr"] for path in _dashboards()
                     for p in _panels(json.loads(path.read_text())) for t in p["targets"])
    for metric in ("netloop_detect_entity_reports_total", "netloop_stage_records_in_total",
                   "netloop_stage_records_out_total", "netloop_stage_dead_letters_total",
                   "netloop_detect_anomalies_total", "netloop_incidents_open", "netloop_actions_total",
                   "netloop_stage_processing_seconds_bucket", "netloop_consumer_lag_records",
                   "netloop_incident_repair_ticks"):
        assert metric in exprs, metric
