"""Outbound network access: the guard every request to a user-controlled URL goes through."""
