"""The queue engine shared by every kind of work, the kind modules, pricing, statistics and upkeep."""
