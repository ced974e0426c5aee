"""Online anomaly detection and root-cause analysis, on numpy arrays, without any transport.

Detectors follow a batch protocol over N×K matrices (:class:`Detector`) and
score only the bad direction of each KPI. The default set
(:func:`default_filter`) is an :class:`OnsetFilter` over an
:class:`AnomalyLikelihood`: tail probabilities of each value's surprise
(:class:`TailModel`) and graded records (:class:`RecordChannels`), one alarm
per anomaly at its onset and a state while it lasts. Other detectors:
:class:`HoltBaseline`,
:class:`LevelShift` (a CUSUM of Holt residuals), :class:`RobustBaseline`,
:class:`SeasonalBaseline` and the multivariate :class:`HalfSpaceTrees`.
Thresholds are separate objects (:class:`ZThreshold`,
:class:`QuantileThreshold`), combined with a detector by
:class:`AnomalyFilter`.
:func:`rank` is the one root-cause ranking: evidence per (entity, KPI)
(:class:`ColumnEvidence`, from metrics by :func:`metric_evidence` or from
anomaly events), a few features per candidate (:func:`entity_features`) and
non-negative weights (:class:`RankingModel`) fitted on labelled cases
(:func:`fit_model`; shipped: :func:`shipped_ranking`). In the loop,
:func:`localize` ranks the anomalies of a window on the topology with it,
helped by :class:`SymptomProfiles` learned from simulated episodes
(:func:`fit_profiles`, :func:`shipped_profiles`); :class:`IncidentTracker`
turns anomalies into incidents, typed by a :class:`FaultTypeClassifier`
(:func:`shipped_classifier`) and with a confidence calibrated by
:class:`ConfidenceCalibration` (:func:`shipped_calibration`). For outside
data: :func:`score_series` runs the detectors on univariate series (scores
in [0, 1]) and :func:`window_counts` scores flags against labelled windows;
:func:`rank_root_causes` ranks the entities of a generic case (metrics,
optionally a dependency graph) with the same :func:`rank`,
:func:`top_k_accuracy` and :func:`avg_at_k` score the rankings.
"""

from detectors.base import Detector
from detectors.baseline import HoltBaseline
from detectors.calibration import ConfidenceCalibration, shipped_calibration
from detectors.changepoint import change_point
from detectors.classifier import FaultTypeClassifier, shipped_classifier, signature_features
from detectors.default import (
    DEFAULT_DETECTOR,
    DEFAULT_LEVEL,
    DEFAULT_MAX_STATE,
    default_filter,
    directions_of,
)
from detectors.evidence import ColumnEvidence, metric_evidence
from detectors.fitting import Case, fit_model
from detectors.graph import TopologyGraph
from detectors.hst import HalfSpaceTrees
from detectors.incidents import IncidentTracker
from detectors.learned import shipped_profiles, shipped_ranking
from detectors.levelshift import LevelShift
from detectors.likelihood import AnomalyLikelihood
from detectors.localizer import Finding, Hypothesis, Seen, localize
from detectors.onset import OnsetFilter
from detectors.profiles import Profile, SymptomProfiles, fit_profiles
from detectors.ranking import FEATURES, KpiEvidence, Ranking, RankingModel, entity_features, rank
from detectors.rca import RootCauseRanking, avg_at_k, rank_root_causes, top_k_accuracy
from detectors.records import RecordChannels
from detectors.robust import RobustBaseline
from detectors.seasonal import SeasonalBaseline
from detectors.tail import TailModel
from detectors.threshold import AnomalyFilter, QuantileThreshold, ZThreshold
from detectors.univariate import SERIES_DETECTORS, SeriesDetector, flag_runs, score_series, squash
from detectors.windows import WindowCounts, window_counts, window_ids

__all__ = [
    "DEFAULT_DETECTOR",
    "DEFAULT_LEVEL",
    "DEFAULT_MAX_STATE",
    "FEATURES",
    "SERIES_DETECTORS",
    "AnomalyFilter",
    "AnomalyLikelihood",
    "Case",
    "ColumnEvidence",
    "ConfidenceCalibration",
    "Detector",
    "FaultTypeClassifier",
    "Finding",
    "HalfSpaceTrees",
    "HoltBaseline",
    "Hypothesis",
    "IncidentTracker",
    "KpiEvidence",
    "LevelShift",
    "OnsetFilter",
    "Profile",
    "QuantileThreshold",
    "Ranking",
    "RankingModel",
    "RecordChannels",
    "RobustBaseline",
    "RootCauseRanking",
    "SeasonalBaseline",
    "Seen",
    "SeriesDetector",
    "SymptomProfiles",
    "TailModel",
    "TopologyGraph",
    "WindowCounts",
    "ZThreshold",
    "avg_at_k",
    "change_point",
    "default_filter",
    "directions_of",
    "entity_features",
    "fit_model",
    "fit_profiles",
    "flag_runs",
    "localize",
    "metric_evidence",
    "rank",
    "rank_root_causes",
    "score_series",
    "shipped_calibration",
    "shipped_classifier",
    "shipped_profiles",
    "shipped_ranking",
    "signature_features",
    "squash",
    "top_k_accuracy",
    "window_counts",
    "window_ids",
]
