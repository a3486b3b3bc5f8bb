"""Password hashing: bcrypt, salted, and no silent truncation of long passwords."""

from __future__ import annotations

from dockyard.service.passwords import PasswordHasher

HASHER = PasswordHasher(rounds=4)


def test_hash_verifies_only_the_right_password() -> None:
    hashed = HASHER.hash("correct horse")
    assert hashed.startswith("$2b$04$")
    assert "correct horse" not in hashed
    assert HASHER.verify("correct horse", hashed)
    assert not HASHER.verify("correct horsE", hashed)
    assert not HASHER.verify("", hashed)


def test_hashes_are_salted() -> None:
    assert HASHER.hash("same") != HASHER.hash("same")


def test_rounds_are_configurable() -> None:
    assert PasswordHasher(rounds=5).hash("x").startswith("$2b$05$")


def test_long_passwords_differing_after_72_bytes_differ() -> None:
    base = "a" * 80
    hashed = HASHER.hash(base + "1")
    assert HASHER.verify(base + "1", hashed)
    assert not HASHER.verify(base + "2", hashed)


def test_unicode_and_nul_characters_count() -> None:
    hashed = HASHER.hash("pä\x00ss")
    assert HASHER.verify("pä\x00ss", hashed)
    assert not HASHER.verify("pä", hashed)


def test_garbage_hash_never_verifies() -> None:
    assert not HASHER.verify("x", "not-a-bcrypt-hash")
