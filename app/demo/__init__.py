"""The demo data set loaded by ``flask demo seed``."""
