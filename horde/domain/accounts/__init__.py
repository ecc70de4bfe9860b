"""API keys, users, the kudos ledger, transfers between users, registration."""
