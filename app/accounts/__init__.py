"""Staff accounts, roles and password handling."""
