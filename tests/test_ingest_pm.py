"""3GPP TS 32.435 measCollecFile XML (several measInfo blocks, suspect flags, missing values); the watcher."""

import asyncio
import gzip
import os
from datetime import UTC, datetime

import pytest

from streams.ingest.mapping import parse_rules
from streams.ingest.pm import parse_pm, read_pm_file
from streams.ingest.samples import Rejected, Sample, Tally
from streams.ingest.watcher import FolderWatcher, watch

END = datetime(2026, 3, 1, 12, 15, tzinfo=UTC).timestamp()  # 14:15+02:00
MEAS_COLLEC = """<?xml version="1.0" encoding="UTF-8"?>
<measCollecFile xmlns="http://www.3gpp.org/ftp/specs/archive/32_series/32.435#measCollec">
  <fileHeader fileFormatVersion="32.435 V10.0" vendorName="Company NN" dnPrefix="DC=example.com">
    <fileSender localDn="SubNetwork=1,ManagedElement=gNB-7" elementType="gNB"/>
    <measCollec beginTime="2026-03-01T14:00:00+02:00"/>
  </fileHeader>
  <measData>
    <managedElement localDn="SubNetwork=1,ManagedElement=gNB-7" userLabel="gNB seven"/>
    <measInfo measInfoId="DRB">
      <job jobId="41"/>
      <granPeriod duration="PT900S" endTime="2026-03-01T14:15:00+02:00"/>
      <repPeriod duration="PT900S"/>
      <measTypes>DRB.UEThpDl DRB.UEThpUl</measTypes>
      <measValue measObjLdn="GNBDUFunction=1,NRCellDU=1"><measResults>120.5 30</measResults></measValue>
      <measValue measObjLdn="GNBDUFunction=1,NRCellDU=2"><measResults>NIL 31</measResults></measValue>
      <measValue measObjLdn="GNBDUFunction=1,NRCellDU=3">
        <measResults>999 999</measResults>
        <suspect>true</suspect>
      </measValue>
    </measInfo>
    <measInfo measInfoId="RRC">
      <job jobId="42"/>
      <granPeriod duration="PT900S" endTime="2026-03-01T14:15:00+02:00"/>
      <measType p="1">RRC.ConnMean</measType>
      <measType p="2">RRC.ConnMax</measType>
      <measType p="3">RRC.ConnEstabAtt.Distr</measType>
      <measValue measObjLdn="GNBCUCPFunction=1,NRCellCU=1">
        <r p="1">17</r><r p="2">40</r><r p="3">1,4,0</r>
        <suspect>false</suspect>
      </measValue>
      <measValue measObjLdn="GNBCUCPFunction=1,NRCellCU=2"><r p="1"></r><r p="2">22</r></measValue>
    </measInfo>
    <measInfo measInfoId="broken">
      <granPeriod duration="PT900S" endTime="2026-03-01T14:15:00+02:00"/>
      <measTypes>A B</measTypes>
      <measValue measObjLdn="X=1"><measResults>1 2 3</measResults></measValue>
      <measValue measObjLdn="X=2"><measResults>1 two</measResults></measValue>
      <measValue measObjLdn="X=3"><measResults>4 5</measResults></measValue>
    </measInfo>
    <measInfo measInfoId="late">
      <measTypes>C</measTypes>
      <measValue measObjLdn="X=4"><measResults>6</measResults></measValue>
    </measInfo>
  </measData>
  <fileFooter><measCollec endTime="2026-03-01T14:16:00+02:00"/></fileFooter>
</measCollecFile>
"""
RULES = parse_rules([
    {"match": {"NRCellDU": "(?P<cell>.+)"}, "entity": "{ManagedElement}/cell-{cell}"},
    {"match": {"NRCellCU": "(?P<cell>.+)"}, "entity": "{ManagedElement}/cell-{cell}", "kpi": "{__name__}"},
    {"match": {"measObjLdn": "X=(?P<x>.+)"}, "entity": "x{x}", "kpi": "{__name__}@{measInfoId}"},
])


def _parse(text: str = MEAS_COLLEC) -> tuple[list[Sample | Rejected], Tally]:
    tally = Tally()
    return parse_pm(text.encode(), RULES, source="pm:test.xml", tally=tally), tally


def test_each_meas_info_block_gives_samples_at_its_granularity_period_end():
    items, _ = _parse()
    samples = [i for i in items if isinstance(i, Sample)]
    assert samples[:5] == [
        Sample(END, "gNB-7/cell-1", "DRB.UEThpDl", 120.5, False),
        Sample(END, "gNB-7/cell-1", "DRB.UEThpUl", 30.0, False),
        Sample(END, "gNB-7/cell-2", "DRB.UEThpUl", 31.0, False),
        Sample(END, "gNB-7/cell-1", "RRC.ConnMean", 17.0, False),
        Sample(END, "gNB-7/cell-1", "RRC.ConnMax", 40.0, False),
    ]
    assert Sample(END, "gNB-7/cell-2", "RRC.ConnMax", 22.0, False) in samples


def test_missing_compound_and_suspect_values_are_skipped_and_counted():
    items, tally = _parse()
    assert not any(isinstance(i, Sample) and i.entity == "gNB-7/cell-3" for i in items)
    assert tally.skipped == {"suspect": 2, "missing value": 2, "compound value": 1}


def test_a_meas_value_that_does_not_add_up_is_rejected_naming_it_and_the_rest_is_read():
    items, _ = _parse()
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [r.reason for r in rejected] == [
        "measData[0].measInfo[2] 'broken'.measValue[0] 'X=1': 3 measResults for 2 measTypes",
        "measData[0].measInfo[2] 'broken'.measValue[1] 'X=2': B: 'two' is not a number",
    ]
    assert b'measObjLdn="X=1"' in rejected[0].raw
    assert Sample(END, "x3", "A@broken", 4.0, False) in items


def test_a_meas_info_without_a_granularity_period_takes_the_file_footer_end_time():
    items, _ = _parse()
    assert Sample(END + 60, "x4", "C@late", 6.0, False) in items


def test_an_unknown_p_and_a_bad_end_time_are_rejected_with_the_block_named():
    broken = '<measInfo measInfoId="broken">\n      <granPeriod duration="PT900S" endTime='
    text = MEAS_COLLEC.replace('<r p="2">22</r>', '<r p="9">22</r>').replace(
        broken + '"2026-03-01T14:15:00+02:00"/>', broken + '"yesterday"/>')
    reasons = [i.reason for i in _parse(text)[0] if isinstance(i, Rejected)]
    assert "measData[0].measInfo[1] 'RRC'.measValue[1] 'GNBCUCPFunction=1,NRCellCU=2': r p='9': " \
           "no measType with that p" in reasons
    assert "measData[0].measInfo[2] 'broken': endTime 'yesterday' is not an ISO 8601 time" in reasons


def test_the_ldn_parts_and_the_block_ids_are_labels_for_the_rules():
    rules = parse_rules([{"match": {"jobId": "41"},
                          "entity": "{SubNetwork}/{GNBDUFunction}/{measObjLdn}", "kpi": "{__name__}"}])
    items = parse_pm(MEAS_COLLEC.encode(), rules, source="s", tally=Tally())
    assert items[0] == Sample(END, "1/1/GNBDUFunction=1,NRCellDU=1", "DRB.UEThpDl", 120.5, False)


@pytest.mark.parametrize(("data", "why"), [
    (b"<measCollecFile><measData>", "not well-formed XML"),
    (b"<html><body/></html>", "root element is 'html', not measCollecFile"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
     b"<measCollecFile>&lol2;</measCollecFile>", "refused XML"),
    (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><measCollecFile>&e;</measCollecFile>',
     "refused XML"),
])
def test_a_file_that_is_not_a_safe_meas_collec_file_is_one_rejection(data, why):
    items = parse_pm(data, RULES, source="pm:x", tally=Tally())
    assert len(items) == 1 and items[0].reason.startswith(why)


def test_a_gzipped_file_reads_like_the_plain_one_and_a_file_past_the_limit_is_rejected(tmp_path):
    plain, packed = tmp_path / "A1.xml", tmp_path / "A1.xml.gz"
    plain.write_text(MEAS_COLLEC)
    packed.write_bytes(gzip.compress(MEAS_COLLEC.encode()))
    assert read_pm_file(packed, RULES, tally=Tally()) == [
        Rejected("pm:" + str(packed), r.reason, r.raw) if isinstance(r, Rejected) else r
        for r in read_pm_file(plain, RULES, tally=Tally())]
    assert read_pm_file(plain, RULES, tally=Tally(), max_bytes=100)[0].reason == "file larger than 100 bytes"
    assert "cannot read" in read_pm_file(tmp_path / "gone.xml", RULES, tally=Tally())[0].reason


def _drop(folder, name: str, mtime_s: int):
    path = folder / name
    path.write_text(MEAS_COLLEC)
    os.utime(path, ns=(mtime_s * 10**9, mtime_s * 10**9))
    return path


def test_the_watcher_hands_on_a_new_file_once_after_it_stays_the_same_for_a_poll(tmp_path):
    watcher = FolderWatcher(tmp_path, pattern="A*.xml")
    path = _drop(tmp_path, "A20260301.1400.xml", 1000)
    _drop(tmp_path, "notes.txt", 1000)
    assert watcher.poll() == []  # first seen: it may still be being written
    assert watcher.poll() == [path]
    assert watcher.poll() == []
    newer = _drop(tmp_path, "A20260301.1415.xml", 2000)
    assert watcher.poll() == []
    newer.write_text(MEAS_COLLEC + "<!-- still writing -->")
    os.utime(newer, ns=(2001 * 10**9, 2001 * 10**9))
    assert watcher.poll() == []  # it changed since the last poll
    assert watcher.poll() == [newer]
    assert watcher.poll() == []


def test_the_watcher_remembers_a_bounded_number_of_files_and_never_reads_an_old_one_again(tmp_path):
    watcher = FolderWatcher(tmp_path, remember=2)
    paths = [_drop(tmp_path, f"A{n}.xml", 1000 * (n + 1)) for n in range(5)]
    assert watcher.poll() == []
    assert watcher.poll() == paths[:2]  # oldest first, at most `remember` waiting at a time
    assert watcher.poll() == paths[2:4]
    assert watcher.poll() == paths[4:]
    assert len(watcher._read) == 2
    assert watcher.poll() == [] and watcher.poll() == []  # the forgotten ones are older than the floor
    late = _drop(tmp_path, "A9.xml", 9000)
    watcher.poll()
    assert watcher.poll() == [late]


def test_a_missing_folder_has_no_files_and_does_not_stop_the_watcher(tmp_path):
    assert FolderWatcher(tmp_path / "not-yet").poll() == []


def test_watch_reads_each_new_file_once_onto_the_queue(tmp_path):
    path = _drop(tmp_path, "A1.xml", 1000)

    async def go():
        slept: asyncio.Queue[float] = asyncio.Queue()
        go_on: asyncio.Queue[None] = asyncio.Queue()

        async def sleep(seconds: float) -> None:  # each poll tells the test, then waits for its word
            await slept.put(seconds)
            await go_on.get()

        out: asyncio.Queue = asyncio.Queue(2)
        task = asyncio.create_task(watch(FolderWatcher(tmp_path), lambda p: [p.name], out,
                                         interval_s=7.0, sleep=sleep))
        async with asyncio.timeout(30):
            assert await slept.get() == 7.0 and out.empty()  # poll 1: seen, not yet settled
            await go_on.put(None)
            await slept.get()  # poll 2: read
            first = out.get_nowait()
            await go_on.put(None)
            await slept.get()  # poll 3: nothing new
            again = out.empty()
        task.cancel()
        return first, again

    assert asyncio.run(go()) == ([path.name], True)
