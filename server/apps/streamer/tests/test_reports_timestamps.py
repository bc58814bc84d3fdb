"""Reading times: uptime and RTC, reboots, the previous report's base, de-duplication and selector rules."""

import datetime
import struct

import msgpack
import pytest
from iotile.core.hw.reports import IndividualReadingReport, IOTileReading, SignedListReport

from server.apps.streamer.reports import (
    STATUS_CLEAN,
    STATUS_DIRTY,
    STATUS_UNKNOWN,
    STATUS_UTC,
    ParsedReport,
    ReadingTable,
    ReportRejectedError,
    TimedReading,
    build_signed_list_report,
    parse_report,
    prepare_report,
    time_base,
)
from server.apps.streamer.reports.timestamps import rtc_to_datetime

UTC = datetime.UTC
DEVICE = 7
RECEIVED = datetime.datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
SENT = 100
BASE = RECEIVED - datetime.timedelta(seconds=SENT)
RTC = 0x80000000
REBOOT = 0x5C00


def seconds(n):
    return datetime.timedelta(seconds=n)


def signed(rows, *, selector=0x5FFF, sent=SENT, report_id=None):
    """A parsed SignedListReport of ``(stream, reading_id, raw_time, value)`` rows."""
    report_id = report_id if report_id is not None else max((r[1] for r in rows), default=0) + 1
    data = build_signed_list_report(DEVICE, rows, report_id=report_id, sent_timestamp=sent, selector=selector)
    return parse_report(data, "r.bin")


def times(prepared):
    return {r.reading_id: (r.timestamp, r.status, r.dirty_ts) for r in prepared.readings}


# Three boot sessions: readings 1-3, a reboot (4) then 5-6, a reboot (7) then 8-9.
REBOOTS = [
    (0x5001, 1, 10, 11),
    (0x5001, 2, 20, 12),
    (0x5001, 3, 30, 13),
    (REBOOT, 4, 0, 1),
    (0x5001, 5, 10, 15),
    (0x5001, 6, 40, 16),
    (REBOOT, 7, 0, 2),
    (0x5001, 8, 50, 18),
    (0x5001, 9, 90, 19),
]
LAST_BLOCK = {7: BASE, 8: BASE + seconds(50), 9: BASE + seconds(90)}
# The middle block ends 1 s before the last one starts (at BASE): its latest uptime, 40, lands at BASE - 1 s.
MIDDLE_BLOCK = {4: BASE - seconds(41), 5: BASE - seconds(31), 6: BASE - seconds(1)}
# The first block ends 1 s before the middle one starts (BASE - 41 s).
FIRST_BLOCK = {1: BASE - seconds(62), 2: BASE - seconds(52), 3: BASE - seconds(42)}


class TestUptimeAndClock:
    def test_matches_iotile_core_without_reboots(self):
        rows = [(0x5001, 1, 5, 1), (0x5002, 2, RTC | 770_000_000, 2), (0x5001, 3, 95, 3), (0x5003, 4, 0, 4)]
        data = build_signed_list_report(DEVICE, rows, report_id=5, sent_timestamp=SENT, selector=0x5FFF)
        library = SignedListReport(bytearray(data), received_time=RECEIVED.replace(tzinfo=None))
        prepared = prepare_report(parse_report(data, "r.bin"), received_time=RECEIVED)
        assert [r.timestamp.replace(tzinfo=None) for r in prepared.readings] == [
            r.reading_time for r in library.visible_readings
        ]
        assert [r.status for r in prepared.readings] == [STATUS_CLEAN, STATUS_UTC, STATUS_CLEAN, STATUS_CLEAN]
        assert not any(prepared.readings.dirty)
        assert prepared.readings[1].timestamp == datetime.datetime(2024, 5, 26, 0, 53, 20, tzinfo=UTC)

    def test_streams_sampled_on_the_same_tick(self):
        rows = [(0x5001 + i % 4, i + 1, 10 * (i // 4), i) for i in range(2000)]
        data = build_signed_list_report(DEVICE, rows, report_id=2001, sent_timestamp=6000, selector=0x5FFF)
        library = SignedListReport(bytearray(data), received_time=RECEIVED.replace(tzinfo=None))
        prepared = prepare_report(parse_report(data, "r.bin"), received_time=RECEIVED)
        assert [r.timestamp.replace(tzinfo=None) for r in prepared.readings] == [
            r.reading_time for r in library.visible_readings
        ]

    def test_output_row(self):
        prepared = prepare_report(signed([(0x5001, 1, 60, 0xFFFFFFFF)]), received_time=RECEIVED)
        assert list(prepared.readings) == [
            TimedReading(0x5001, 1, 60, BASE + seconds(60), 0xFFFFFFFF, STATUS_CLEAN, False)
        ]
        assert prepared.time_base == BASE
        assert prepared.readings[0].timestamp.tzinfo is UTC

    def test_naive_received_time_is_utc(self):
        naive = prepare_report(signed([(0x5001, 1, 60, 1)]), received_time=RECEIVED.replace(tzinfo=None))
        other_zone = RECEIVED.astimezone(datetime.timezone(datetime.timedelta(hours=-5)))
        aware = prepare_report(signed([(0x5001, 1, 60, 1)]), received_time=other_zone)
        assert naive.readings.timestamps == aware.readings.timestamps == [BASE + seconds(60)]
        assert time_base(RECEIVED.replace(tzinfo=None), 100) == BASE

    def test_unknown_raw_time(self):
        prepared = prepare_report(signed([(0x5001, 1, 0xFFFFFFFF, 5), (0x5001, 2, 7, 6)]), received_time=RECEIVED)
        assert times(prepared) == {1: (RECEIVED, STATUS_UNKNOWN, True), 2: (BASE + seconds(7), STATUS_CLEAN, False)}

    def test_rtc_conversion(self):
        assert rtc_to_datetime(RTC) == datetime.datetime(2000, 1, 1, tzinfo=UTC)
        assert rtc_to_datetime(RTC | 86400) == datetime.datetime(2000, 1, 2, tzinfo=UTC)

    def test_trip_streams_carry_a_unix_time(self):
        start = int(datetime.datetime(2024, 4, 1, tzinfo=UTC).timestamp())
        rows = [(0x0E00, 1, 5, start), (0x5001, 2, 6, 1), (0x0E01, 3, 7, 0)]
        prepared = prepare_report(signed(rows), received_time=RECEIVED)
        assert times(prepared) == {
            1: (datetime.datetime(2024, 4, 1, tzinfo=UTC), STATUS_UTC, False),
            2: (BASE + seconds(6), STATUS_CLEAN, False),
            3: (BASE + seconds(7), STATUS_CLEAN, False),  # an unset trip time falls back to uptime
        }

    def test_individual_reading_report(self):
        data = struct.pack("<BBHLLLL", 0, 0, 0x5004, DEVICE, 3600, 600, 9)
        library = IndividualReadingReport(bytearray(data), received_time=RECEIVED.replace(tzinfo=None))
        prepared = prepare_report(parse_report(data, "one.bin"), received_time=RECEIVED, last_id=1000)
        assert prepared.dropped_readings == 0  # no id: nothing to de-duplicate against
        assert list(prepared.readings) == [
            TimedReading(0x5004, 0, 600, RECEIVED - seconds(3000), 9, STATUS_CLEAN, False)
        ]
        assert prepared.readings[0].timestamp.replace(tzinfo=None) == library.visible_readings[0].reading_time


class TestReboots:
    def test_blocks_are_rebased_backwards(self):
        prepared = prepare_report(signed(REBOOTS), received_time=RECEIVED)
        expected = {rid: (t, STATUS_CLEAN, False) for rid, t in LAST_BLOCK.items()}
        expected |= {rid: (t, STATUS_DIRTY, True) for rid, t in (MIDDLE_BLOCK | FIRST_BLOCK).items()}
        assert times(prepared) == expected
        assert prepared.reboot_ids == [4, 7]
        assert prepared.last_reboot_timestamp == BASE
        assert prepared.removed_reboots == 0  # a system streamer keeps them

    def test_previous_report_base_places_the_first_block(self):
        previous = BASE - seconds(5000)
        prepared = prepare_report(signed(REBOOTS), received_time=RECEIVED, previous_time_base=previous)
        assert {rid: v for rid, v in times(prepared).items() if rid <= 3} == {
            1: (previous + seconds(10), STATUS_CLEAN, False),
            2: (previous + seconds(20), STATUS_CLEAN, False),
            3: (previous + seconds(30), STATUS_CLEAN, False),
        }
        assert times(prepared)[5] == (MIDDLE_BLOCK[5], STATUS_DIRTY, True)

    def test_previous_base_that_overlaps_the_next_block_is_ignored(self):
        # With this base reading 3 would fall after the middle block started: it cannot be the same boot session.
        prepared = prepare_report(signed(REBOOTS), received_time=RECEIVED, previous_time_base=BASE - seconds(50))
        assert {rid: v for rid, v in times(prepared).items() if rid <= 3} == {
            rid: (t, STATUS_DIRTY, True) for rid, t in FIRST_BLOCK.items()
        }

    def test_previous_base_without_reboots_is_not_needed(self):
        rows = [(0x5001, 1, 10, 1), (0x5001, 2, 20, 2)]
        prepared = prepare_report(signed(rows), received_time=RECEIVED, previous_time_base=BASE - seconds(5000))
        assert prepared.readings.timestamps == [BASE + seconds(10), BASE + seconds(20)]

    def test_clock_readings_keep_their_time_in_a_rebased_block(self):
        rows = list(REBOOTS)
        rows[4] = (0x5001, 5, RTC | 1000, 15)  # reading 5 now has a clock time
        prepared = prepare_report(signed(rows), received_time=RECEIVED)
        result = times(prepared)
        assert result[5] == (datetime.datetime(2000, 1, 1, 0, 16, 40, tzinfo=UTC), STATUS_UTC, False)
        assert (result[4], result[6]) == ((MIDDLE_BLOCK[4], STATUS_DIRTY, True), (MIDDLE_BLOCK[6], STATUS_DIRTY, True))
        assert result[1] == (FIRST_BLOCK[1], STATUS_DIRTY, True)

    def test_block_with_only_clock_times_anchors_the_block_before(self):
        rows = [
            (0x5001, 1, 30, 1),
            (REBOOT, 2, RTC | 5000, 1),
            (0x5001, 3, RTC | 5010, 2),
            (REBOOT, 4, 0, 2),
            (0x5001, 5, 10, 3),
        ]
        prepared = prepare_report(signed(rows), received_time=RECEIVED)
        clock_start = datetime.datetime(2000, 1, 1, 1, 23, 20, tzinfo=UTC)
        assert times(prepared) == {
            1: (clock_start - seconds(1), STATUS_DIRTY, True),
            2: (clock_start, STATUS_UTC, False),
            3: (clock_start + seconds(10), STATUS_UTC, False),
            4: (BASE, STATUS_CLEAN, False),
            5: (BASE + seconds(10), STATUS_CLEAN, False),
        }

    def test_report_starting_with_a_reboot(self):
        rows = [(REBOOT, 1, 0, 1), (0x5001, 2, 10, 2), (REBOOT, 3, 0, 2), (0x5001, 4, 5, 3)]
        prepared = prepare_report(signed(rows), received_time=RECEIVED)
        assert times(prepared) == {
            1: (BASE - seconds(11), STATUS_DIRTY, True),
            2: (BASE - seconds(1), STATUS_DIRTY, True),
            3: (BASE, STATUS_CLEAN, False),
            4: (BASE + seconds(5), STATUS_CLEAN, False),
        }

    def test_many_blocks_end_one_second_before_the_next(self):
        rows, reading_id = [], 0
        for session in range(50):
            reading_id += 1
            rows.append((REBOOT, reading_id, 0, session))
            for tick in range(1, 200):
                reading_id += 1
                rows.append((0x5001 + tick % 3, reading_id, tick * 10, tick))
        prepared = prepare_report(signed(rows, sent=2000), received_time=RECEIVED)
        readings = prepared.readings
        starts = [i for i, s in enumerate(readings.streams) if s == REBOOT]
        assert len(starts) == 50
        for start, end in zip(starts, [*starts[1:], len(readings)], strict=True):
            block = readings.timestamps[start:end]
            assert block == sorted(block)
            if end < len(readings):
                assert readings.timestamps[end] - block[-1] == seconds(1)
        assert readings.timestamps[starts[-1]] == RECEIVED - seconds(2000)
        assert readings.statuses.count(STATUS_DIRTY) == 49 * 200


class TestIngestRules:
    def test_user_streamer_drops_reboot_rows_after_timing(self):
        prepared = prepare_report(signed(REBOOTS, selector=0xD7FF), received_time=RECEIVED)
        assert list(prepared.readings.reading_ids) == [1, 2, 3, 5, 6, 8, 9]
        assert prepared.removed_reboots == 2
        assert prepared.reboot_ids == [4, 7]
        assert prepared.last_reboot_timestamp == BASE
        assert times(prepared)[5] == (MIDDLE_BLOCK[5], STATUS_DIRTY, True)
        assert (prepared.first_id, prepared.last_id) == (1, 9)

    def test_selector_without_reboots_is_refused(self):
        with pytest.raises(ReportRejectedError, match="0x57FF"):
            prepare_report(signed(REBOOTS, selector=0x57FF), received_time=RECEIVED)

    @pytest.mark.parametrize(("last_id", "dropped", "kept"), [(0, 0, 9), (5, 5, 4), (9, 9, 0), (20, 9, 0)])
    def test_readings_at_or_below_last_id_are_dropped(self, last_id, dropped, kept):
        prepared = prepare_report(signed(REBOOTS), received_time=RECEIVED, last_id=last_id)
        assert prepared.dropped_readings == dropped
        assert list(prepared.readings.reading_ids) == list(range(last_id + 1, 10))[:kept]
        if kept == 0:
            assert (prepared.first_id, prepared.last_id) == (0, 0)

    def test_dropping_keeps_the_times(self):
        # Reading 6 is still placed after the middle block's re-basing, and reading 6 is what is left of it.
        prepared = prepare_report(signed(REBOOTS), received_time=RECEIVED, last_id=5)
        assert times(prepared) == {
            6: (MIDDLE_BLOCK[6], STATUS_DIRTY, True),
            **{rid: (t, STATUS_CLEAN, False) for rid, t in LAST_BLOCK.items()},
        }
        assert prepared.reboot_ids == [7]
        prepared = prepare_report(
            signed(REBOOTS), received_time=RECEIVED, last_id=5, previous_time_base=BASE - seconds(1000)
        )
        assert times(prepared)[6] == (BASE - seconds(960), STATUS_CLEAN, False)

    def test_out_of_order_readings_are_sorted_and_deduplicated(self):
        report = signed(REBOOTS)
        order = [8, 0, 3, 6, 1, 4, 2, 7, 5]
        shuffled = ReadingTable(
            *(
                [column[i] for i in order]
                for column in (
                    report.readings.streams,
                    report.readings.reading_ids,
                    report.readings.raw_times,
                    report.readings.values,
                )
            )
        )
        prepared = prepare_report(ParsedReport(report.header, shuffled), received_time=RECEIVED)
        assert times(prepared) == times(prepare_report(report, received_time=RECEIVED))
        assert list(prepared.readings.reading_ids) == list(range(1, 10))
        prepared = prepare_report(ParsedReport(report.header, shuffled), received_time=RECEIVED, last_id=4)
        assert (prepared.dropped_readings, list(prepared.readings.reading_ids)) == (4, [5, 6, 7, 8, 9])

    def test_timed_readings_sequence(self):
        prepared = prepare_report(signed(REBOOTS), received_time=RECEIVED)
        readings = prepared.readings
        assert len(readings) == 9
        assert readings[-1] == TimedReading(0x5001, 9, 90, BASE + seconds(90), 19, STATUS_CLEAN, False)
        assert list(readings[7:]) == list(readings)[7:]
        assert repr(readings) == "<TimedReadings of 9 readings>"


def dictionary_report(data, events=(), selector=0xFFFF):
    body = {
        "format": "v100",
        "device": DEVICE,
        "streamer_index": 0x100,
        "streamer_selector": selector,
        "incremental_id": 50,
        "device_sent_timestamp": SENT,
        "lowest_id": 1,
        "highest_id": 20,
        "data": data,
        "events": list(events),
    }
    return parse_report(msgpack.packb(body), "r.mp")


class TestDictionaryTimes:
    def test_item_rules(self):
        from iotile.core.hw.reports import FlexibleDictionaryReport

        moment = datetime.datetime(2024, 4, 30, 8, 0, 0)
        readings = [
            IOTileReading(RTC | 10, 0x5001, 1, reading_id=1),
            IOTileReading(20, 0x5001, 2, reading_id=2, reading_time=moment),
            IOTileReading(30, 0x5001, 3, reading_id=3),
            IOTileReading(0xFFFFFFFF, 0x5001, 4, reading_id=4),
        ]
        data = bytes(FlexibleDictionaryReport.FromReadings(DEVICE, readings, [], sent_timestamp=SENT).raw_report)
        prepared = prepare_report(parse_report(data, "r.mp"), received_time=RECEIVED)
        assert times(prepared) == {
            1: (datetime.datetime(2000, 1, 1, 0, 0, 10, tzinfo=UTC), STATUS_UTC, False),
            2: (moment.replace(tzinfo=UTC), STATUS_CLEAN, False),
            3: (BASE + seconds(30), STATUS_CLEAN, False),
            4: (RECEIVED, STATUS_UNKNOWN, True),
        }
        assert list(prepared.readings.device_timestamps) == [RTC | 10, 20, 30, 0xFFFFFFFF]

    def test_no_reboot_reconstruction_and_reboot_rows_removed_for_a_user_streamer(self):
        data = [
            {"stream": "5001", "streamer_local_id": 1, "device_timestamp": 10, "value": 1},
            {"stream": "5c00", "streamer_local_id": 2, "device_timestamp": 0, "value": 1},
            {"stream": "5001", "streamer_local_id": 3, "device_timestamp": 10, "value": 1},
        ]
        prepared = prepare_report(dictionary_report(data, selector=0xD7FF), received_time=RECEIVED)
        assert times(prepared) == {1: (BASE + seconds(10), STATUS_CLEAN, False), 3: (BASE + seconds(10), "cln", False)}
        assert (prepared.removed_reboots, prepared.reboot_ids) == (1, [2])

    def test_events_are_deduplicated_and_timed(self):
        moment = "2024-04-30T08:00:00Z"
        events = [
            {"stream": "5020", "streamer_local_id": 3, "timestamp": moment, "extra_data": {"a": 1}, "data": {"x": 1}},
            {"stream": "5020", "streamer_local_id": 12, "device_timestamp": 40, "extra_data": {"a": 2}},
            {"stream": "5020", "streamer_local_id": 0, "device_timestamp": RTC | 5, "extra_data": None},
            {"stream": "5020", "streamer_local_id": 14},
        ]
        readings = [{"stream": 0x5001, "streamer_local_id": 11, "timestamp": moment, "value": 1}]
        prepared = prepare_report(dictionary_report(readings, events), received_time=RECEIVED, last_id=10)
        assert prepared.dropped_events == 1
        assert [(e.reading_id, e.timestamp, e.status, e.dirty_ts) for e in prepared.events] == [
            (12, BASE + seconds(40), STATUS_CLEAN, False),
            (0, datetime.datetime(2000, 1, 1, 0, 0, 5, tzinfo=UTC), STATUS_UTC, False),
            (14, RECEIVED, STATUS_UNKNOWN, True),
        ]
        assert prepared.events[0].extra_data == {"a": 2}
        assert prepared.events[1].extra_data == {}
        assert (prepared.first_id, prepared.last_id) == (11, 14)
