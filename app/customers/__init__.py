"""Customers: the pseudonymous customer row that every domain refers to."""
