"""The flat-array integer map behaves like a dict of 64-bit integers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ledgerlink.compact import Int64Map

INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(st.lists(st.tuples(INT64, INT64), max_size=3000), st.lists(INT64, max_size=50))
def test_agrees_with_a_dict(pairs: list[tuple[int, int]], probes: list[int]) -> None:
    compact, reference = Int64Map(), {}
    for key, value in pairs:
        compact[key] = value
        reference[key or 1] = value
    assert len(compact) == len(reference)
    for key, value in reference.items():
        assert compact.get(key) == value
    for key in probes:
        assert compact.get(key) == reference.get(key or 1)


def test_wide_keys_fold_to_64_bits_and_survive_growth() -> None:
    compact = Int64Map((i * 2**70 + i, i) for i in range(1, 5001))
    assert len(compact) == 5000
    assert compact.get(5000 * 2**70 + 5000) == 5000
    assert Int64Map.fold(2**64 + 5) == 5
