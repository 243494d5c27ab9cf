"""Kibana Query Language: taintsigma's own pySigma backend (backend.py) and KQL syntax (syntax.py)."""
