"""The web layer: one blueprint per audience, plus access rules and security headers."""
