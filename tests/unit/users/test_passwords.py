from argon2 import PasswordHasher

from kehu.users.passwords import hash_password, needs_rehash, verify_password


def test_hashes_are_argon2id_at_full_strength_and_verify():
    hashed = hash_password("correct horse battery")

    assert hashed.startswith("$argon2id$")
    assert "m=65536,t=3,p=4" in hashed
    assert verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "correct horse battery!")
    assert not needs_rehash(hashed)


def test_a_missing_or_malformed_hash_never_verifies():
    assert not verify_password(None, "anything")
    assert not verify_password("not-a-hash", "anything")


def test_weaker_hashes_are_flagged_for_rehash():
    weak = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("pw")

    assert verify_password(weak, "pw")
    assert needs_rehash(weak)
