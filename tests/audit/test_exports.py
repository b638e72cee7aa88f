"""Exports stream: memory stays flat however many events there are."""

import tracemalloc

from .factories import bulk_events

SMALL, LARGE = 2_000, 40_000  # twenty times the events: a whole-list export would need ~20x the memory


def _consume_measuring_peak_memory(response) -> tuple[int, int]:
    """(bytes received, peak Python memory allocated while receiving them)."""
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        received = sum(len(chunk) for chunk in response.streaming_content)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    return received, peak


def test_exporting_40k_events_takes_no_more_memory_than_exporting_2k(auditor_client, db):
    url = "/audit/export.csv"
    bulk_events(SMALL, sandbox="small")
    bulk_events(LARGE - SMALL, sandbox="large")

    small = auditor_client.get(url, {"sandbox": "small"})
    whole = auditor_client.get(url)
    assert small.streaming and whole.streaming

    small_bytes, small_peak = _consume_measuring_peak_memory(small)
    whole_bytes, whole_peak = _consume_measuring_peak_memory(whole)

    assert whole_bytes > 15 * small_bytes  # twenty times the data...
    assert whole_peak < 3 * small_peak, (small_peak, whole_peak)  # ...in about the same memory, not ~20x
