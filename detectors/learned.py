"""What the localizer learned, shipped as package data: ranking weights, and the loop's symptom profiles.

``detectors/data/ranking.json`` holds one :class:`RankingModel` per kind of
evidence — ``outside`` (metrics of real systems, fitted on the shared
labelled cases) and ``loop`` (the detectors' anomaly events, fitted on
simulated episodes) — with what each was fitted on and its held-out scores,
and the loop's :class:`SymptomProfiles`. ``netloop episodes`` rebuilds it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path

import detectors
from detectors.profiles import SymptomProfiles
from detectors.ranking import RankingModel

RANKING_FILE = "ranking.json"


@cache
def shipped_learning() -> dict:
    """The whole shipped file (read once per process)."""
    return json.loads((resources.files("detectors") / "data" / RANKING_FILE).read_text())


def shipped_ranking(name: str) -> RankingModel:
    """The shipped ranking model ``name`` (``outside`` or ``loop``)."""
    models = shipped_learning()["models"]
    if name not in models:
        raise KeyError(f"no shipped ranking model {name!r} (have {', '.join(sorted(models))})")
    return RankingModel(models[name]["weights"])


@cache
def shipped_profiles() -> SymptomProfiles:
    """The symptom profiles learned from simulated episodes (empty if none were fitted)."""
    data = shipped_learning().get("profiles")
    return SymptomProfiles.from_json(data) if data else SymptomProfiles((), {})


def learning_path() -> Path:
    """Where the shipped file lives in the source tree (what ``netloop episodes`` rewrites)."""
    return Path(detectors.__file__).parent / "data" / RANKING_FILE
