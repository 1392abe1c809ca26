"""Call identifiers in Ozeki's style: short, case-sensitive, base 62 (`H2Wwb`)."""

import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def new_call_id(length: int = 8) -> str:
    # 62^8 ≈ 2e14: collisions are not a practical concern for calls that live minutes
    return "".join(secrets.choice(ALPHABET) for _ in range(length))
