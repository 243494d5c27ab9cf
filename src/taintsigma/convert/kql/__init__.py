"""Kibana Query Language: our pySigma backend (backend.py) and KQL literal syntax (syntax.py)."""
