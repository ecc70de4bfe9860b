"""Horde-wide modes (maintenance, invite-only, raid) and roles."""
