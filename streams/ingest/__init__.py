"""Telemetry from outside netloop: adapters that turn what operators have into samples.

Every adapter produces :class:`Sample` (one value of one KPI of one entity, named by the
relabel-style rules of :mod:`.mapping`) and :class:`Rejected` (input it could not use, with the
reason, for the dead-letter topic); none raises on bad input. What each reads:

- :mod:`.prometheus`: scrapes ``/metrics`` targets at an interval (text format in :mod:`.exposition`);
- :mod:`.otlp`: an OTLP/HTTP metrics receiver, protobuf and JSON (data points in :mod:`.otlp_points`);
- :mod:`.pm`: 3GPP TS 32.435 ``measCollecFile`` XML, with :mod:`.watcher` for a folder of them.

Turning samples into per-tick telemetry frames (counters into rates) is not done here.
"""

from streams.ingest.exposition import parse_exposition
from streams.ingest.mapping import MappingError, Rules, load_rules, parse_rules
from streams.ingest.otlp import PayloadError, decode_request, otlp_app
from streams.ingest.pm import parse_pm, read_pm_file
from streams.ingest.prometheus import Scrape, Scraper, TargetError
from streams.ingest.samples import Rejected, Sample, Tally
from streams.ingest.watcher import FolderWatcher, watch

__all__ = [
    "FolderWatcher",
    "MappingError",
    "PayloadError",
    "Rejected",
    "Rules",
    "Sample",
    "Scrape",
    "Scraper",
    "Tally",
    "TargetError",
    "decode_request",
    "load_rules",
    "otlp_app",
    "parse_exposition",
    "parse_pm",
    "parse_rules",
    "read_pm_file",
    "watch",
]
