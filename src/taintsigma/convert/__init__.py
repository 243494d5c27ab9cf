"""Sigma to query text: targets (backends/<id>/), pipelines, field types, regexes, guards."""
