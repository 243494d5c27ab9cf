"""Scans: inputs read into events, rules routed to them, alerts."""
