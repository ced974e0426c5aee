"""Relabel-style rules: first match wins, templates from groups and labels, counters, bad rules refused."""

import pytest

from streams.ingest.mapping import Dropped, MappingError, Target, Unusable, load_rules, parse_rules
from streams.ingest.samples import Sample, Tally

RULES = {
    "unmatched": "drop",
    "rules": [
        {"match": {"__name__": "go_.*"}, "drop": True},
        {"match": {"__name__": "node_(?P<what>cpu|memory)_(?P<unit>[a-z]+)_total",
                   "instance": "(?P<host>[^:]+):\\d+"},
         "entity": "{host}", "kpi": "{what}_{unit}"},
        {"match": {"__name__": "node_.*"}, "entity": "{instance}", "counter": False},
        {"match": {"job": "upf"}, "entity": "upf-{{{instance}}}", "kpi": "{__name__}", "counter": True},
    ],
}


def test_the_first_matching_rule_names_the_entity_and_kpi_from_its_named_groups():
    rules = parse_rules(RULES)
    got = rules.resolve({"__name__": "node_cpu_seconds_total", "instance": "host-1:9100"}, counter=True)
    assert got == Target("host-1", "cpu_seconds", True)


def test_a_later_rule_applies_only_when_the_earlier_ones_do_not_match():
    rules = parse_rules(RULES)
    got = rules.resolve({"__name__": "node_load1", "instance": "host-1:9100"}, counter=False)
    assert got == Target("host-1:9100", "node_load1", False)


def test_regexes_are_anchored_at_both_ends():
    rules = parse_rules([{"match": {"__name__": "up"}, "entity": "x"}])
    assert isinstance(rules.resolve({"__name__": "upstream"}, counter=False), Dropped)
    assert isinstance(rules.resolve({"__name__": "backup"}, counter=False), Dropped)


def test_a_label_the_series_lacks_matches_as_the_empty_string():
    rules = parse_rules([{"match": {"__name__": "up", "zone": ""}, "entity": "x"}])
    assert rules.resolve({"__name__": "up"}, counter=False) == Target("x", "up", False)
    assert isinstance(rules.resolve({"__name__": "up", "zone": "a"}, counter=False), Dropped)


def test_doubled_braces_in_a_template_are_literal_braces():
    rules = parse_rules(RULES)
    got = rules.resolve({"__name__": "sessions", "job": "upf", "instance": "u1"}, counter=False)
    assert got == Target("upf-{u1}", "sessions", True)


def test_counter_auto_follows_the_source_and_true_or_false_overrides_it():
    rules = parse_rules(RULES)
    node = {"__name__": "node_load1", "instance": "h"}
    assert rules.resolve(node, counter=True).counter is False  # counter: false
    upf = {"__name__": "x", "job": "upf", "instance": "u"}
    assert rules.resolve(upf, counter=False).counter is True  # counter: true
    auto = {"__name__": "node_memory_bytes_total", "instance": "h:1"}
    assert rules.resolve(auto, counter=True).counter is True
    assert rules.resolve(auto, counter=False).counter is False


def test_a_drop_rule_drops_what_it_matches_and_the_tally_says_why():
    rules, tally = parse_rules(RULES), Tally()
    assert rules.sample({"__name__": "go_goroutines"}, 5.0, time_s=1.0, counter=False, tally=tally) is None
    assert rules.sample({"__name__": "other"}, 5.0, time_s=1.0, counter=False, tally=tally) is None
    assert tally.skipped == {"dropped by rule": 1, "unmatched": 1}


def test_an_unmatched_series_is_refused_when_the_file_says_reject():
    rules = parse_rules({**RULES, "unmatched": "reject"})
    got = rules.resolve({"__name__": "other"}, counter=False)
    assert isinstance(got, Unusable) and "no rule matches" in got.reason


def test_a_template_naming_a_label_the_series_lacks_is_unusable_naming_the_rule_and_label():
    rules = parse_rules([{"match": {"__name__": "up"}, "entity": "{instance}"}])
    got = rules.resolve({"__name__": "up"}, counter=False)
    assert isinstance(got, Unusable)
    assert "rules[0]" in got.reason and "'instance'" in got.reason


def test_a_finite_value_of_a_named_series_becomes_a_sample_and_a_non_finite_one_is_skipped():
    rules, tally = parse_rules(RULES), Tally()
    labels = {"__name__": "node_load1", "instance": "h"}
    assert rules.sample(labels, 0.5, time_s=9.0, counter=False, tally=tally) == Sample(
        9.0, "h", "node_load1", 0.5, False)
    assert rules.sample(labels, float("nan"), time_s=9.0, counter=False, tally=tally) is None
    assert tally.skipped == {"not finite": 1}


@pytest.mark.parametrize(("body", "field"), [
    ([{"entity": "a"}, {"entity": "b"}, {"match": {"job": "(unclosed"}, "entity": "c"}],
     "rules[2].match.job: invalid regex"),
    ([{"match": {"job": 5}, "entity": "x"}], "rules[0].match.job: expected a regex string"),
    ([{"match": {"bad label": "x"}, "entity": "x"}], "rules[0].match: 'bad label' is not a label name"),
    ([{"match": ["job"], "entity": "x"}], "rules[0].match: expected a mapping"),
    ([{"entity": "x", "colour": "red"}], "rules[0].colour: unknown field"),
    ([{"match": {"job": "x"}}], "rules[0].entity: required"),
    ([{"entity": "x", "counter": "yes"}], "rules[0].counter: expected true, false or auto"),
    ([{"entity": "x", "drop": "no"}], "rules[0].drop: expected true or false"),
    ([{"entity": "{instance"}], "rules[0].entity: unbalanced brace"),
    ([{"entity": "x", "kpi": "{a b}"}], "rules[0].kpi: {a b} is not a label or group name"),
    ([{"entity": 3}], "rules[0].entity: expected a template string"),
    (["just a string"], "rules[0]: expected a mapping"),
    ([], "rules: expected a non-empty list"),
    ({"rules": [{"entity": "x"}], "unmatched": "keep"}, "unmatched: 'keep' is not drop or reject"),
    ({"rules": [{"entity": "x"}], "extra": 1}, "extra: unknown field"),
])
def test_a_bad_rule_is_refused_at_load_with_the_field_named(body, field):
    with pytest.raises(MappingError) as caught:
        parse_rules(body)
    assert str(caught.value).startswith(field)


def test_a_rule_file_is_read_from_yaml_and_a_bad_one_is_refused_naming_the_file(tmp_path):
    good = tmp_path / "rules.yaml"
    good.write_text("rules:\n  - match: {__name__: 'up'}\n    entity: '{job}'\n")
    assert load_rules(good).resolve({"__name__": "up", "job": "j"}, counter=False) == Target("j", "up", False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed\n")
    with pytest.raises(MappingError, match="bad.yaml: not valid YAML"):
        load_rules(bad)
    with pytest.raises(MappingError, match="cannot read"):
        load_rules(tmp_path / "missing.yaml")
