"""Online anomaly detection and root-cause analysis, on numpy arrays, without any transport.

Detectors follow a batch protocol over N×K matrices (:class:`Detector`);
thresholds are separate objects (:class:`ZThreshold`), combined by
:class:`AnomalyFilter`. :func:`localize` ranks root causes on the topology;
:class:`IncidentTracker` turns anomalies into incidents.
"""

from detectors.base import Detector
from detectors.baseline import HoltBaseline
from detectors.graph import TopologyGraph
from detectors.incidents import IncidentTracker
from detectors.localizer import Finding, Hypothesis, localize
from detectors.signatures import SIGNATURES, Signature
from detectors.threshold import AnomalyFilter, ZThreshold

__all__ = [
    "SIGNATURES",
    "AnomalyFilter",
    "Detector",
    "Finding",
    "HoltBaseline",
    "Hypothesis",
    "IncidentTracker",
    "Signature",
    "TopologyGraph",
    "ZThreshold",
    "localize",
]
