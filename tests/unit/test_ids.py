"""CallIds: Ozeki's short base-62 style, from the OS's random source."""

from __future__ import annotations

from collections import Counter

from ast_bridge.calls.ids import ALPHABET, new_call_id


def test_call_ids_are_eight_base62_digits_and_do_not_repeat() -> None:
    ids = [new_call_id() for _ in range(20_000)]
    assert all(len(i) == 8 and set(i) <= set(ALPHABET) for i in ids)
    assert len(set(ids)) == len(ids)


def test_every_digit_of_the_alphabet_turns_up_in_every_position() -> None:
    ids = [new_call_id() for _ in range(20_000)]
    for position in range(8):
        seen = Counter(i[position] for i in ids)
        assert set(seen) == set(ALPHABET)
        # uniform: about 20000/62 = 322 each; a skewed mapping would leave some far off
        assert min(seen.values()) > 200 and max(seen.values()) < 460
