"""Heartbeat, news, swagger, serviceinfo, horde modes."""


def test_heartbeat(client):
    response = client.get("/api/v2/status/heartbeat")
    assert response.status_code == 200
    assert response.get_json() == {"message": "OK", "version": "0.1.0"}


def test_news_newest_first(client):
    news = client.get("/api/v2/status/news").get_json()
    assert news and all({"date_published", "newspiece", "importance", "tags", "title", "more_info_urls"} <= set(n) for n in news)
    dates = [n["date_published"] for n in news]
    assert dates == sorted(dates, reverse=True)


def test_swagger_ui_and_document(client):
    ui = client.get("/api/")
    assert ui.status_code == 200 and b"swagger" in ui.data.lower()
    doc = client.get("/api/swagger.json").get_json()
    assert doc["swagger"] == "2.0" and doc["info"]["version"] == "2.5" and doc["basePath"] == "/api"
    assert "/v2/find_user" in doc["paths"]


def test_serviceinfo(client):
    info = client.get("/.well-known/serviceinfo").get_json()
    assert info["api"]["aihorde"]["rel_url"] == "/api/v2"
    assert info["api"]["aihorde"]["version"] == "2.5"


def test_modes_without_key_hide_raid(client):
    assert client.get("/api/v2/status/modes").get_json() == {"maintenance_mode": False, "invite_only_mode": False}


def test_modes_for_a_moderator_show_raid(client, users):
    _, key = users.create("mod", moderator=True)
    body = client.get("/api/v2/status/modes", headers={"apikey": key}).get_json()
    assert body == {"maintenance_mode": False, "invite_only_mode": False, "raid_mode": False}


def test_modes_with_a_plain_key_are_refused(client, users):
    _, key = users.create("pleb")
    response = client.get("/api/v2/status/modes", headers={"apikey": key})
    assert response.status_code == 403 and response.get_json()["rc"] == "NotModerator"


def test_modes_with_an_unknown_key_are_401(client):
    response = client.get("/api/v2/status/modes", headers={"apikey": "x" * 22})
    assert response.status_code == 401 and response.get_json()["rc"] == "InvalidAPIKey"


def test_admin_switches_maintenance_and_it_shows(client, users):
    _, key = users.create("admin")  # admin#1 is listed in the test settings' admins
    response = client.put("/api/v2/status/modes", json={"maintenance_mode": True}, headers={"apikey": key})
    assert response.status_code == 200 and response.get_json() == {"maintenance_mode": True}
    assert client.get("/api/v2/status/modes").get_json()["maintenance_mode"] is True


def test_moderator_cannot_switch_maintenance(client, users):
    users.create("admin")
    _, key = users.create("mod", moderator=True)
    response = client.put("/api/v2/status/modes", json={"maintenance_mode": True}, headers={"apikey": key})
    assert response.status_code == 403 and response.get_json()["rc"] == "NotAdmin"
    assert client.get("/api/v2/status/modes").get_json()["maintenance_mode"] is False


def test_moderator_switches_raid_and_invite_only(client, users):
    users.create("admin")
    _, key = users.create("mod", moderator=True)
    response = client.put("/api/v2/status/modes", json={"raid_mode": True, "invite_only_mode": True}, headers={"apikey": key})
    assert response.get_json() == {"invite_only_mode": True, "raid_mode": True}
    assert client.get("/api/v2/status/modes", headers={"apikey": key}).get_json()["raid_mode"] is True


def test_plain_user_cannot_switch_modes(client, users):
    users.create("admin")
    _, key = users.create("pleb")
    response = client.put("/api/v2/status/modes", json={"raid_mode": True}, headers={"apikey": key})
    assert response.status_code == 403 and response.get_json()["rc"] == "NotModerator"


def test_empty_mode_change_is_refused(client, users):
    _, key = users.create("admin")
    response = client.put("/api/v2/status/modes", json={}, headers={"apikey": key})
    assert response.status_code == 400 and response.get_json()["rc"] == "NoHordeModSelected"


def test_mode_change_with_wrong_type(client, users):
    _, key = users.create("admin")
    response = client.put("/api/v2/status/modes", json={"raid_mode": "yes"}, headers={"apikey": key})
    assert response.status_code == 400 and "raid_mode" in response.get_json()["errors"]


def test_mode_change_needs_a_key(client):
    response = client.put("/api/v2/status/modes", json={"raid_mode": True})
    assert response.status_code == 400 and "apikey" in response.get_json()["errors"]


def test_swagger_document_reads_like_the_public_servers(app, text_app):
    """Title, definition names and shapes as the public server's document has them (horde-sdk
    checks its models against them); list limits are stated in words, still enforced."""
    import json

    for application, name in ((app, "Stable Horde"), (text_app, "KoboldAI Horde")):
        doc = application.test_client().get("/api/swagger.json").get_json()
        assert doc["info"]["title"] == "AI Horde" and name in doc["info"]["description"]
        assert "maxItems" not in json.dumps(doc) and "minItems" not in json.dumps(doc)
        definitions = doc["definitions"]
        assert set(definitions["UsageDetails"]["properties"]) == {"megapixelsteps", "requests"}
        assert set(definitions["UserThingRecords"]["properties"]) == {"megapixelsteps", "tokens"}
        assert set(definitions["ResponseModelMessage"]["properties"]) == {"worker_id", "message", "origin", "expiry"}
        assert {"id", "user_id", "created"} <= set(definitions["ResponseModelMessageDetails"]["properties"])
        assert definitions["GenerationSubmitted"]["properties"] == {"reward": {"type": "number"}}
    text_definitions = text_app.test_client().get("/api/swagger.json").get_json()["definitions"]
    assert "seed" not in text_definitions["SubmitInputKobold"]["properties"]
    assert "GenerationSubmittedKobold" not in text_definitions
    image_doc = app.test_client().get("/api/swagger.json").get_json()
    assert "At most 100 items." in image_doc["definitions"]["GenerationInputStable"]["properties"]["models"]["description"]
    too_many = app.test_client().post("/api/v2/generate/async", json={"prompt": "a cat", "models": ["m"] * 101})
    assert too_many.status_code == 400 and "models" in too_many.get_json()["errors"]
