"""A deployment declares its kinds and KPIs; the simulated 5G network's catalogue is one such declaration."""

import pytest

from schemas import KPIS_BY_KIND
from schemas.catalogue import CatalogueError, builtin_catalogue, parse_catalogue

IP_CORE = """
name: ip-core
kinds:
  router:
    ids: "^(IntGW|RR|TR)-[0-9]+$"
    kpis:
      - {name: cpu_util_ratio, unit: ratio, bad: up}
  interface:
    ids: "^(?P<parent>[A-Za-z]+-[0-9]+)/(Gi|Te)[0-9]+$"
    kpis:
      - {name: rx_pps, unit: packets/s, bad: both}
      - {name: in_octets, unit: bytes, bad: both, counter: true}
depends_on: {interface: [router]}
"""


def test_the_builtin_catalogue_declares_what_the_simulated_network_reports():
    c = builtin_catalogue()
    for kind, kpis in KPIS_BY_KIND.items():
        assert c.kpi_names(kind.value) == tuple(k.name for k in kpis)
        assert [k.bad for k in c.kpis(kind.value)] == [k.bad for k in kpis]
    assert c.kind_of("cell-0007-2") == "cell" and c.kind_of("gnb-0007") == "gnb" and c.kind_of("x") is None


def test_a_declared_catalogue_names_kinds_by_id_and_the_entity_each_belongs_to():
    c = parse_catalogue(IP_CORE)
    assert c.kind_of("IntGW-01/Gi2") == "interface" and c.parent_of("IntGW-01/Gi2") == "IntGW-01"
    assert c.kind_of("TR-02") == "router" and c.parent_of("TR-02") is None
    assert [k.counter for k in c.kpis("interface")] == [False, True]
    assert c.observable == ("router", "interface")


@pytest.mark.parametrize(("text", "named"), [
    ("name: x\nkinds: {a: {kpis: [{name: q, bad: sideways}]}}", "kinds.a.kpis.0.bad"),
    ("name: x\nkinds: {a: {ids: '('}}", "kinds.a.ids: not a regular expression"),
    ("name: x\nkinds: {a: {}}\ndepends_on: {a: [b]}", "depends_on.a: unknown kind 'b'"),
    ("name: x\nkinds: {a: {kpis: [{name: q, bad: up}, {name: q, bad: down}]}}", "KPI names appear twice: q"),
    ("name: x\nkinds: {Router: {}}", "kind name 'Router'"),
    ("name: x\nkinds: {a: {kpis: [{name: q, bad: up, colour: red}]}}", "kinds.a.kpis.0.colour"),
    ("[1, 2]", "expected a mapping"),
    ("name: [", "not valid YAML"),
])
def test_a_bad_catalogue_is_refused_with_the_field_named(text, named):
    with pytest.raises(CatalogueError, match=named.replace("(", r"\(").replace("[", r"\[")):
        parse_catalogue(text, "c.yaml")
