"""Record ids are UUIDv7: valid UUIDs, version 7, RFC variant, ordered by creation time."""

from __future__ import annotations

import time
import uuid

from app.ledger.drafts import new_record_id


def test_record_ids_are_version_7_uuids_with_the_rfc_variant():
    ids = {new_record_id() for _ in range(1000)}
    assert len(ids) == 1000
    for text in ids:
        value = uuid.UUID(text)
        assert str(value) == text
        assert value.version == 7
        assert value.variant == uuid.RFC_4122


def test_record_ids_sort_by_creation_time_across_milliseconds():
    first = new_record_id()
    time.sleep(0.003)
    second = new_record_id()
    assert first < second
    millis = int(second.replace("-", "")[:12], 16)
    assert abs(millis - time.time_ns() // 1_000_000) < 5_000
