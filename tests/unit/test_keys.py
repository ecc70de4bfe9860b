from horde.domain.accounts.apikeys import KeyHasher, new_api_key


def test_api_keys_are_22_url_safe_characters_and_unique():
    keys = {new_api_key() for _ in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert len(key) == 22
        assert all(c.isalnum() or c in "-_" for c in key)


def test_hash_is_keyed_and_stable():
    a, b = KeyHasher("one"), KeyHasher("two")
    assert a.hash("k" * 22) == a.hash("k" * 22)
    assert a.hash("k" * 22) != b.hash("k" * 22)
    assert "k" * 22 not in a.hash("k" * 22)
