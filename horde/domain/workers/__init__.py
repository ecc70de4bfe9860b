"""Workers: check-in on pop, what a worker may take (matching), admin views and messages, the live picture."""
