"""Text requests: no suspicion scoring, but flagged users' prompts are rewritten to adults,
and timed-out IPs are refused on text generate and pop."""


def test_flagged_users_get_adults(tloop, tusers, scribe_key):
    _, key = tusers.create("flagged-writer", flagged=True)
    tloop.request(key, prompt="a young girl writes a letter")
    job = tloop.pop(scribe_key)
    assert job["payload"]["prompt"].startswith("a adult adult woman writes a letter###")


def test_text_prompts_are_not_scored(tloop, tusers, scribe_key, text_client):
    _, mod = tusers.create("mod", moderator=True)
    for regex, kind in ((r"\bchild\b", 10), (r"\bnude\b", 20)):
        text_client.put("/api/v2/filters", json={"regex": regex, "filter_type": kind}, headers={"apikey": mod})
    _, key = tusers.create("writer")
    tloop.request(key, prompt="the child saw a nude statue", replacement_filter=False)
    assert tloop.pop(scribe_key)["payload"]["prompt"] == "the child saw a nude statue"


def test_timed_out_ips_are_refused(tloop, tusers, scribe_key, text_client):
    _, mod = tusers.create("mod", moderator=True)
    text_client.post("/api/v2/operations/ipaddr", json={"ipaddr": "127.0.0.1", "hours": 1}, headers={"apikey": mod})
    refused = tloop.request(mod, expect=403)
    assert refused.get_json()["rc"] == "TimeoutIP"
    assert tloop.pop(scribe_key, expect=403)["rc"] == "TimeoutIP"
