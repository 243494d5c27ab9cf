"""Rule packages: one module per export format, built from conversions and rule metadata."""
