"""Reading logs into events: input files and formats (syslog, journald, dmesg, ECS, JSON)."""
