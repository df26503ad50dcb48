"""Users, passwords, tokens, roles, rate limits and the audit log."""
