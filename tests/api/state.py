"""What a refused request must leave as it was: balances, the queue, workers, messages."""

from __future__ import annotations

from sqlalchemy import text

_READS = {
    "users": "SELECT id, username, kudos, kudos_adjustments, evaluating_kudos, monthly_kudos, worker_invited,"
             " concurrency, contact FROM users ORDER BY id",
    "workers": "SELECT id, name, name_lower, owner_id, max_pixels, max_length, max_context_length, maintenance,"
               " maintenance_msg, threads, last_check_in FROM workers ORDER BY id",
    "queue": "SELECT id, n, processing, finished, cancelled FROM requests ORDER BY id",
    "queue_models": "SELECT count(*) FROM request_models",
    "jobs": "SELECT id, state FROM jobs ORDER BY id",
    "kudos_events": "SELECT count(*) FROM kudos_events",
    "interrogations": "SELECT id FROM interrogations ORDER BY id",
    "messages": "SELECT count(*) FROM worker_messages",
    "teams": "SELECT count(*) FROM teams",
    "shared_keys": "SELECT id, name, kudos, utilized, expiry, max_image_pixels, max_image_steps, max_text_tokens"
                   " FROM shared_keys ORDER BY id",
    "styles": "SELECT id, name, prompt, use_count, sharedkey_id FROM styles ORDER BY id",
    "style_examples": "SELECT id, url, \"primary\" FROM style_examples ORDER BY id",
    "collections": "SELECT id, name, info, use_count FROM collections ORDER BY id",
    "collection_styles": "SELECT count(*) FROM collection_styles",
}


def snapshot(app) -> dict:
    db = app.extensions["horde"].db
    with db.engine.connect() as conn:
        return {name: [tuple(row) for row in conn.execute(text(sql))] for name, sql in _READS.items()}
