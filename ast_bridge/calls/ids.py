"""Call identifiers in Ozeki's style: short, case-sensitive, base 62 (`H2Wwb`)."""

import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def new_call_id(length: int = 8) -> str:
    # 62^8 ≈ 2e14: collisions are not a practical concern for calls that live minutes.
    # One draw from the OS for all the digits (a draw per digit was 4 % of the
    # bridge's CPU under load); the number is uniform below 62^length.
    number = secrets.randbelow(len(ALPHABET) ** length)
    digits = []
    for _ in range(length):
        number, digit = divmod(number, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(digits)
