"""The rule model: loading (pySigma parses, once), modifiers, metadata, ATT&CK, checks."""
