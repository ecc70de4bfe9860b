"""find_user, the user list, user details at each privilege, and PUT /users/{id}."""

import pytest


def test_find_user_anonymous(client):
    body = client.get("/api/v2/find_user", headers={"apikey": "0000000000"}).get_json()
    assert body["username"] == "Anonymous#0" and body["id"] == 0 and body["concurrency"] == 500


def test_find_user_registered_shows_private_fields(client, users):
    user_id, key = users.create("alice", kudos=100)
    body = client.get("/api/v2/find_user", headers={"apikey": key}).get_json()
    assert body["username"] == f"alice#{user_id}"
    assert body["kudos"] == 100.0 and body["kudos_details"]["admin"] == 100.0
    assert body["sharedkey_ids"] == [] and body["worker_ids"] == []
    assert body["pseudonymous"] is True
    assert "evaluating_kudos" not in body


def test_find_user_unknown_key(client):
    response = client.get("/api/v2/find_user", headers={"apikey": "A" * 22})
    assert response.status_code == 404 and response.get_json()["rc"] == "UserNotFound"


@pytest.mark.parametrize("key", ["short", "x" * 300, "0000000001"])
def test_find_user_malformed_key(client, key):
    response = client.get("/api/v2/find_user", headers={"apikey": key})
    assert response.status_code == 404 and response.get_json()["rc"] == "UserNotFound"


def test_find_user_without_key(client):
    response = client.get("/api/v2/find_user")
    assert response.status_code == 401 and response.get_json()["rc"] == "InvalidAPIKey"


def test_user_details_public_view(client, users):
    user_id, _ = users.create("alice", kudos=50)
    body = client.get(f"/api/v2/users/{user_id}").get_json()
    assert body["username"] == f"alice#{user_id}" and body["kudos"] == 50.0
    for private in ("sharedkey_ids", "contact", "active_generations", "evaluating_kudos", "worker_ids"):
        assert private not in body
    assert body["records"]["fulfillment"] == {"image": 0, "text": 0, "interrogation": 0}


def test_user_details_own_key_is_privileged(client, users):
    user_id, key = users.create("alice")
    body = client.get(f"/api/v2/users/{user_id}", headers={"apikey": key}).get_json()
    assert body["sharedkey_ids"] == [] and "evaluating_kudos" not in body


def test_user_details_moderator_sees_everything(client, users):
    user_id, _ = users.create("alice")
    _, mod_key = users.create("mod", moderator=True)
    body = client.get(f"/api/v2/users/{user_id}", headers={"apikey": mod_key}).get_json()
    assert body["evaluating_kudos"] == 0.0 and body["suspicious"] == 0


def test_user_details_other_users_key_gets_public_view(client, users):
    user_id, _ = users.create("alice")
    _, other_key = users.create("bob")
    assert "sharedkey_ids" not in client.get(f"/api/v2/users/{user_id}", headers={"apikey": other_key}).get_json()


def test_user_details_unknown_and_non_numeric(client):
    assert client.get("/api/v2/users/987654").get_json()["rc"] == "UserNotFound"
    response = client.get("/api/v2/users/alice%231")
    assert response.status_code == 404 and response.get_json()["rc"] == "UserNotFound"


def test_user_details_invalid_key(client, users):
    user_id, _ = users.create("alice")
    response = client.get(f"/api/v2/users/{user_id}", headers={"apikey": "B" * 22})
    assert response.status_code == 401 and response.get_json()["rc"] == "InvalidAPIKey"


def test_user_list_sorted_and_paged(client, users):
    for i in range(27):
        users.create(f"user{i}", kudos=i * 10)
    page1 = client.get("/api/v2/users").get_json()
    assert len(page1) == 25
    kudos = [u["kudos"] for u in page1]
    assert kudos == sorted(kudos, reverse=True) and kudos[0] == 260.0
    # not skip_none: privileged keys are present as null
    assert page1[0]["evaluating_kudos"] is None and page1[0]["usage"] == {"megapixelsteps": None, "requests": None}
    page2 = client.get("/api/v2/users?page=2").get_json()
    assert len(page2) == 3  # 27 users + anonymous
    by_age = client.get("/api/v2/users?sort=age").get_json()
    assert by_age[0]["username"] == "Anonymous#0"
    assert client.get("/api/v2/users?page=10001").get_json() == []
    assert client.get("/api/v2/users?page=x").status_code == 400


class TestModifyUser:
    def put(self, client, user_id, key, **body):
        return client.put(f"/api/v2/users/{user_id}", json=body, headers={"apikey": key})

    def test_admin_adds_kudos(self, client, users):
        _, admin_key = users.create("admin")
        target, _ = users.create("alice")
        response = self.put(client, target, admin_key, kudos=500)
        assert response.status_code == 200 and response.get_json() == {"new_kudos": 500.0}
        assert client.get(f"/api/v2/users/{target}").get_json()["kudos_details"]["admin"] == 500.0

    def test_moderator_cannot_add_kudos(self, client, users):
        users.create("admin")
        _, mod_key = users.create("mod", moderator=True)
        target, _ = users.create("alice")
        response = self.put(client, target, mod_key, kudos=500)
        assert response.status_code == 403 and response.get_json()["rc"] == "NotAdmin"
        assert client.get(f"/api/v2/users/{target}").get_json()["kudos"] == 0

    def test_moderator_fields(self, client, users):
        users.create("admin")
        _, mod_key = users.create("mod", moderator=True)
        target, _ = users.create("alice")
        response = self.put(
            client, target, mod_key, concurrency=50, trusted=True, worker_invited=3, customizer=True,
            admin_comment="watch this one", reset_suspicion=True,
        )
        assert response.get_json() == {
            "concurrency": 50, "trusted": True, "worker_invited": 3, "customizer": True,
            "admin_comment": "watch this one", "new_suspicion": 0,
        }
        details = client.get(f"/api/v2/users/{target}", headers={"apikey": mod_key}).get_json()
        assert details["concurrency"] == 50 and details["trusted"] is True and details["admin_comment"] == "watch this one"

    def test_education_sets_concurrency(self, client, users):
        users.create("admin")
        _, mod_key = users.create("mod", moderator=True)
        target, _ = users.create("school")
        assert self.put(client, target, mod_key, education=True).get_json() == {"education": True, "concurrency": 200}
        assert self.put(client, target, mod_key, education=False).get_json() == {"education": False, "concurrency": 30}

    def test_plain_user_cannot_use_moderator_fields(self, client, users):
        target, key = users.create("alice")
        response = self.put(client, target, key, trusted=True)
        assert response.status_code == 403 and response.get_json()["rc"] == "NotModerator"

    def test_self_fields(self, client, users):
        target, key = users.create("alice")
        body = self.put(client, target, key, username="alicia", contact="alicia@example.org", public_workers=True).get_json()
        assert body == {"username": f"alicia#{target}", "contact": "alicia@example.org", "public_workers": True}

    def test_cannot_change_someone_else(self, client, users):
        target, _ = users.create("alice")
        _, other_key = users.create("bob")
        response = self.put(client, target, other_key, contact="mallory@example.org")
        assert response.status_code == 403

    def test_too_long_username(self, client, users):
        target, key = users.create("alice")
        response = self.put(client, target, key, username="x" * 40)
        assert response.status_code == 400 and response.get_json()["rc"] == "TooLongUserName"

    def test_out_of_range_values_fail_validation(self, client, users):
        users.create("admin")
        _, mod_key = users.create("mod", moderator=True)
        target, _ = users.create("alice")
        response = self.put(client, target, mod_key, concurrency=501)
        assert response.status_code == 400 and "concurrency" in response.get_json()["errors"]

    def test_nothing_to_change(self, client, users):
        target, key = users.create("alice")
        response = self.put(client, target, key)
        assert response.status_code == 400 and response.get_json()["rc"] == "NoUserModSelected"

    def test_anonymous_cannot_modify(self, client, users):
        target, _ = users.create("alice")
        response = self.put(client, target, "0000000000", contact="anon@example.org")
        assert response.status_code == 403 and response.get_json()["rc"] == "AnonForbiddenUserMod"

    def test_proxy_passkey_only_for_service_accounts(self, client, users):
        users.create("admin")
        _, mod_key = users.create("mod", moderator=True)
        target, key = users.create("svc")
        response = self.put(client, target, key, generate_proxy_passkey=True)
        assert response.status_code == 403 and response.get_json()["rc"] == "NonServiceForbidden"
        self.put(client, target, mod_key, service=True)
        passkey = self.put(client, target, key, generate_proxy_passkey=True).get_json()["proxy_passkey"]
        assert len(passkey) == 16
        assert client.get(f"/api/v2/users/{target}", headers={"apikey": mod_key}).get_json()["proxy_passkey"] == passkey

    def test_undelete_needs_a_deleted_user(self, client, users):
        target, key = users.create("alice")
        response = self.put(client, target, key, undelete=True)
        assert response.status_code == 400 and response.get_json()["rc"] == "UserNotDeleted"

    def test_unknown_user(self, client, users):
        _, key = users.create("alice")
        assert self.put(client, 4242, key, contact="hello there").get_json()["rc"] == "UserNotFound"
