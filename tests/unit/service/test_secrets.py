"""Registry passwords sealed with a key derived from auth_encryption_key."""

from __future__ import annotations

import pytest

from dockyard.service.secrets import SecretBox, SecretKeyError, Undecryptable

KEY = "k" * 32


def test_sealed_text_opens_again_and_hides_the_plain_text() -> None:
    box = SecretBox(KEY)
    sealed = box.seal("pa55-wörd")
    assert "pa55" not in sealed
    assert sealed != box.seal("pa55-wörd")  # a fresh IV every time
    assert box.open(sealed) == "pa55-wörd"
    assert KEY not in repr(box)


def test_another_key_cannot_open_it() -> None:
    sealed = SecretBox(KEY).seal("secret")
    with pytest.raises(Undecryptable):
        SecretBox("x" * 32).open(sealed)
    with pytest.raises(Undecryptable):
        SecretBox(KEY).open(sealed[:-4] + "AAAA")


@pytest.mark.parametrize("key", ["", "short", "k" * 31])
def test_short_keys_are_refused(key: str) -> None:
    with pytest.raises(SecretKeyError, match="auth_encryption_key"):
        SecretBox(key)
