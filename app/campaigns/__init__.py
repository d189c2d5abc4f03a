"""Campaigns: one-to-one messages to the customers who allow them, scheduled and reported."""
