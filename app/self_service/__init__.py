"""Customers' self-service, behind the portal (``app/web/portal``): sign-up, password reset,
consents, profile, contact limits and the export of everything held (also used to answer
access requests).

Each function receives the session and calls the vault and ledger services, which own their
transactions; the web layer only parses forms and renders what these return.
"""
