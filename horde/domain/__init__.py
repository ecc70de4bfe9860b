"""The rules of the horde, without Flask, grouped by capability.

Groups, lowest first; a group imports only from the groups before it (and from the shared
leaves `errors`, `model_reference`, `profanity`, `aliases`), so there is no cycle between them:

    moderation  horde-wide modes, roles, prompt filters and screening, IP timeouts, suspicion,
                the live rules every node holds in memory (lowest: it acts on accounts and
                workers only through their tables, so both may call it)
    accounts    API keys, users, the kudos ledger, transfers, registration, deletion
    workers     check-in, matching profiles and rules, worker admin and messages, the live picture,
                IP blocks of workers (a moderation rule applied to a worker)
    queue       the engine (enqueue, pop, submit, cancel) and one module per kind, pricing, upkeep
    status      performance and model status (read-only views over the others)
    community   teams, news, ratings

Check-in on pop is where the queue meets the workers: the queue calls `workers.checkin`,
never the other way round. `tests/unit/test_layering.py` keeps this true.
"""
