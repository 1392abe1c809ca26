"""Who may use the API: address (307), then credentials (304, 305, 306)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from ast_bridge.http.auth import DEFAULT_ITERATIONS, PBKDF2_PREFIX, Authenticator, hash_password
from ast_bridge.http.codes import Code, OzekiError
from ast_bridge.settings import ApiUser

ITERATIONS = 1000  # keeps the suite fast; the format is the same at any count


def expected_hash(password: str, salt: str, iterations: int) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(digest).decode()}"


@pytest.fixture(scope="module")
def hashed() -> str:
    return hash_password("s3cr\u00e9t", ITERATIONS)


@pytest.fixture
def auth(hashed: str) -> Authenticator:
    return Authenticator(
        [
            ApiUser(username="HTTP_User_1", password="qwe123"),
            ApiUser(username="hashed", password=hashed),
            ApiUser(username="noapi", password="qwe123", api_access=False),
            ApiUser(username="broken", password="pbkdf2_sha256$notanumber$salt$hash"),
        ],
        allowed_networks=["10.0.0.0/8", "127.0.0.1", "::1", "fe80::/10"],
        denied_networks=["10.9.0.0/16"],
    )


def code_of(auth: Authenticator, remote: str | None, username: str | None, password: str | None) -> int:
    with pytest.raises(OzekiError) as excinfo:
        auth.check(remote, username, password)
    return int(excinfo.value.outcome.code)


# --- hashing ------------------------------------------------------------------------------
def test_hash_password_layout_with_given_salt() -> None:
    assert hash_password("pw", 1000, "abc") == expected_hash("pw", "abc", 1000)
    assert hash_password("pw", 1000, "abc").startswith("pbkdf2_sha256$1000$abc$")


def test_hash_password_defaults_and_random_salt(hashed: str) -> None:
    prefix, iterations, salt, digest = hashed.split("$")
    assert (prefix, iterations) == (PBKDF2_PREFIX, str(ITERATIONS))
    assert hashed == expected_hash("s3cr\u00e9t", salt, ITERATIONS)
    assert len(base64.b64decode(digest)) == 32
    assert hash_password("s3cr\u00e9t", ITERATIONS) != hashed  # a fresh salt every time
    assert DEFAULT_ITERATIONS == 200_000


def test_hashed_password_roundtrip(auth: Authenticator) -> None:
    assert auth.check("127.0.0.1", "hashed", "s3cr\u00e9t") == "hashed"
    assert auth.check("127.0.0.1", "hashed", "s3cr\u00e9t") == "hashed"  # remembered, same answer


def test_hashed_password_wrong_is_305_even_after_a_success(auth: Authenticator) -> None:
    assert code_of(auth, "127.0.0.1", "hashed", "s3cret") == 305
    assert auth.check("127.0.0.1", "hashed", "s3cr\u00e9t") == "hashed"
    assert code_of(auth, "127.0.0.1", "hashed", "s3cret") == 305
    assert code_of(auth, "127.0.0.1", "hashed", "S3CR\u00c9T") == 305


def test_malformed_stored_hash_fails_cleanly(auth: Authenticator) -> None:
    assert code_of(auth, "127.0.0.1", "broken", "hash") == 305


# --- credentials --------------------------------------------------------------------------
def test_plain_password(auth: Authenticator) -> None:
    assert auth.check("10.1.2.3", "HTTP_User_1", "qwe123") == "HTTP_User_1"
    assert code_of(auth, "10.1.2.3", "HTTP_User_1", "qwe1234") == 305
    assert code_of(auth, "10.1.2.3", "HTTP_User_1", "QWE123") == 305


def test_unknown_user_is_305(auth: Authenticator) -> None:
    assert code_of(auth, "127.0.0.1", "nobody", "qwe123") == 305


@pytest.mark.parametrize(("username", "password"), [(None, None), ("HTTP_User_1", None), ("HTTP_User_1", ""),
                                                    (None, "qwe123"), ("", "qwe123")])
def test_missing_credentials_are_304(auth: Authenticator, username: str | None, password: str | None) -> None:
    assert code_of(auth, "127.0.0.1", username, password) == 304


def test_api_access_false_is_306_only_with_the_right_password(auth: Authenticator) -> None:
    assert code_of(auth, "127.0.0.1", "noapi", "qwe123") == 306
    assert code_of(auth, "127.0.0.1", "noapi", "wrong") == 305


def test_error_messages(auth: Authenticator) -> None:
    cases = {
        ("127.0.0.1", None, None): "Authentication required",
        ("127.0.0.1", "nobody", "x"): "Authentication failed, bad username or password",
        ("127.0.0.1", "noapi", "qwe123"): "User is not allowed to use API in ACL",
        ("192.168.1.1", "HTTP_User_1", "qwe123"): "Use API from this address is forbidden",
    }
    for args, message in cases.items():
        with pytest.raises(OzekiError) as excinfo:
            auth.check(*args)
        assert excinfo.value.outcome.message == message


# --- addresses ----------------------------------------------------------------------------
@pytest.mark.parametrize("remote", ["10.1.2.3", "10.255.255.255", "127.0.0.1", "::1", "::ffff:10.1.2.3",
                                    "::ffff:127.0.0.1", "fe80::1%eth0"])
def test_allowed_addresses(auth: Authenticator, remote: str) -> None:
    assert auth.address_allowed(remote)
    assert auth.check(remote, "HTTP_User_1", "qwe123") == "HTTP_User_1"


@pytest.mark.parametrize("remote", [None, "", "garbage", "192.168.1.1", "127.0.0.2", "10.9.0.1", "10.9.255.255",
                                    "::ffff:10.9.1.1", "::ffff:192.168.1.1", "::2", "2001:db8::1"])
def test_denied_addresses_are_307_before_credentials(auth: Authenticator, remote: str | None) -> None:
    assert not auth.address_allowed(remote)
    assert code_of(auth, remote, "HTTP_User_1", "qwe123") == 307
    assert code_of(auth, remote, None, None) == 307  # the address is checked first


def test_ipv6_network_rules_apply_to_mapped_addresses_only_after_unmapping() -> None:
    auth = Authenticator([], allowed_networks=["::/0"], denied_networks=["192.0.2.0/24"])
    assert auth.address_allowed("2001:db8::1")
    assert not auth.address_allowed("::ffff:192.0.2.7")  # unmapped, then denied by the IPv4 rule
    assert not auth.address_allowed("192.0.2.7")


def test_auth_not_required() -> None:
    auth = Authenticator([ApiUser(username="u", password="p")], allowed_networks=["0.0.0.0/0"],
                         denied_networks=["10.0.0.0/8"], required=False)
    assert auth.check("192.168.1.1", None, None) is None
    assert auth.check("192.168.1.1", "u", "wrong") is None
    with pytest.raises(OzekiError) as excinfo:
        auth.check("10.0.0.1", None, None)
    assert excinfo.value.outcome.code is Code.FORBIDDEN_ADDRESS


def test_address_decisions_are_the_same_when_asked_again(auth: Authenticator) -> None:
    # the answer per address is kept: asking twice (or after many other addresses
    # filled and emptied the memo) must not change it
    for _ in range(2):
        assert auth.address_allowed("10.1.2.3") and not auth.address_allowed("10.9.1.1")
        assert not auth.address_allowed("192.0.2.7") and not auth.address_allowed("not an address")
    for n in range(5000):
        auth.address_allowed(f"10.{n // 256 % 256}.{n % 256}.1")
    assert auth.address_allowed("127.0.0.1") and not auth.address_allowed("10.9.1.1")
