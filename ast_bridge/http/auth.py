"""Who may use the API: client networks (307), then credentials (304, 305, 306).

Passwords are stored plain or as `pbkdf2_sha256$<iterations>$<salt>$<hash>`
(base64 salt and hash, the layout Django and passlib use). Every comparison is
constant time, and an unknown user costs as much as a known one. Because Ozeki
clients send credentials with every request, a successful PBKDF2 check is
remembered (keyed by an HMAC of the password under a per-process key) so a busy
client does not pay 100 ms of hashing per request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable

from ast_bridge.http.codes import Code, OzekiError
from ast_bridge.settings import ApiUser

PBKDF2_PREFIX = "pbkdf2_sha256"
DEFAULT_ITERATIONS = 200_000


def hash_password(password: str, iterations: int = DEFAULT_ITERATIONS, salt: str | None = None) -> str:
    salt = salt or secrets.token_urlsafe(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"{PBKDF2_PREFIX}${iterations}${salt}${base64.b64encode(digest).decode()}"


def _verify_pbkdf2(password: str, stored: str) -> bool:
    try:
        _, iterations, salt, expected = stored.split("$", 3)
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(base64.b64encode(digest).decode(), expected)


class Authenticator:
    def __init__(self, users: Iterable[ApiUser], allowed_networks: Iterable[str],
                 denied_networks: Iterable[str], required: bool = True) -> None:
        self._users = {user.username: user for user in users}
        self._allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
        self._denied = [ipaddress.ip_network(n, strict=False) for n in denied_networks]
        self.required = required
        self._cache_key = secrets.token_bytes(32)
        self._verified: set[bytes] = set()
        self._address_decisions: dict[str, bool] = {}
        # what an unknown user's password is checked against, so that it costs the same
        hashed = [u.password for u in self._users.values() if u.password.startswith(PBKDF2_PREFIX + "$")]
        iterations = max((int(p.split("$")[1]) for p in hashed if p.split("$")[1].isdigit()), default=0)
        self._dummy = hash_password(secrets.token_hex(8), iterations) if iterations else secrets.token_hex(8)

    def address_allowed(self, remote: str | None) -> bool:
        if remote is None:
            return False
        # clients are few and come back on every request: the answer per address is
        # kept (bounded), parsing it each time was a visible share of a request's CPU
        known = self._address_decisions.get(remote)
        if known is None:
            known = self._address_decision(remote)
            if len(self._address_decisions) >= 4096:
                self._address_decisions.clear()
            self._address_decisions[remote] = known
        return known

    def _address_decision(self, remote: str) -> bool:
        try:
            address = ipaddress.ip_address(remote.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if any(address in net for net in self._denied):
            return False
        return any(address in net for net in self._allowed)

    def check(self, remote: str | None, username: str | None, password: str | None) -> str | None:
        """Return the authenticated user name (None when auth is off), or raise."""
        if not self.address_allowed(remote):
            raise OzekiError(Code.FORBIDDEN_ADDRESS)
        return self.check_credentials(username, password)

    def check_credentials(self, username: str | None, password: str | None) -> str | None:
        """`check` for a client whose address was already allowed (the API checks the
        address first, before it parses the request)."""
        if not self.required:
            return None
        if not username or password is None or password == "":
            raise OzekiError(Code.AUTHENTICATION_REQUIRED)
        user = self._users.get(username)
        if not self._password_matches(user, username, password) or user is None:
            raise OzekiError(Code.AUTHENTICATION_FAILED)
        if not user.api_access:
            raise OzekiError(Code.FORBIDDEN_USER)
        return user.username

    def _password_matches(self, user: ApiUser | None, username: str, password: str) -> bool:
        stored = user.password if user is not None else self._dummy
        if not stored.startswith(PBKDF2_PREFIX + "$"):
            return hmac.compare_digest(hashlib.sha256(stored.encode()).digest(),
                                       hashlib.sha256(password.encode()).digest())
        key = hmac.new(self._cache_key, f"{username}\0{stored}\0{password}".encode(), "sha256").digest()
        if key in self._verified:
            return True
        ok = _verify_pbkdf2(password, stored)
        if ok and user is not None:
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified.add(key)
        return ok
