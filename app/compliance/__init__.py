"""Compliance services: the queries and packages behind the compliance console.

Pure data access and assembly; the web layer (``app.web.compliance``) only renders. Every look at
personal data goes through the vault with a recorded reason.
"""
