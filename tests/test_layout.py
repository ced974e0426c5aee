"""The architecture as tests: dependencies point one way, public surfaces are small and sorted."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("schemas", "simulator", "netmcp", "detectors", "actuators", "streams")
# what each package may import from the project (the arrows of DESIGN.md)
ALLOWED = {
    "schemas": set(),
    "simulator": {"schemas"},
    "detectors": {"schemas"},
    "netmcp": {"schemas"},
    "actuators": {"schemas"},
    "streams": set(PACKAGES),
}
TRANSPORTS = {"faust", "aiokafka", "prometheus_client", "mcp", "uvicorn", "confluent_kafka"}


def _isort_style(name: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions: the order ruff's RUF022 keeps."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_project_imports_point_one_way(package):
    used = _imports(package) & set(PACKAGES) - {package}
    assert used <= ALLOWED[package], f"{package} imports {used - ALLOWED[package]}"


@pytest.mark.parametrize("package", ["detectors", "actuators", "simulator", "schemas"])
def test_logic_packages_never_import_a_transport(package):
    assert not _imports(package) & TRANSPORTS


@pytest.mark.parametrize("package", PACKAGES)
def test_each_package_states_its_contract_and_exports_a_sorted_all(package):
    mod = importlib.import_module(package)
    assert mod.__doc__ and len(mod.__doc__.strip()) > 40
    exported = getattr(mod, "__all__", None)
    if package == "streams":
        return  # streams is wiring and entry points; its modules are the surface
    assert exported == sorted(exported, key=_isort_style)
    for name in exported:
        assert hasattr(mod, name), name


def test_topic_names_are_spelled_only_in_the_catalogue():
    from schemas.topics import ALL_TOPICS

    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if path.name == "topics.py":
                continue
            text = path.read_text()
            for topic in ALL_TOPICS:
                assert f'"{topic}"' not in text, (path, topic)
