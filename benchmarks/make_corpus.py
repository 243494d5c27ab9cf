"""Generate a deterministic, realistic syslog corpus for benchmarking ``taintsigma scan``.

    python benchmarks/make_corpus.py /tmp/corpus.log            # 1,000,000 lines
    python benchmarks/make_corpus.py /tmp/small.log --lines 10000

One Debian-like host writing RFC 3164 lines over about a month: kernel (audit, UFW, USB,
network, ext4), systemd, sshd, CRON, sudo, NetworkManager, systemd-logind, postfix, dbus,
rsyslogd, snapd. Exactly ``--targets`` lines are tainted-module loads (the flagship rule's
alerts) and ``--near-misses`` lines look like them but must not alert: the out-of-tree
taint message, the phrase from a program other than the kernel, a partial phrase. The same
arguments always give the same bytes; the counts are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

TAINT = "module verification failed: signature and/or required key missing - tainting kernel"
MODULES = ["diamorphine", "reptile", "vboxdrv", "nvidia", "zfs", "wireguard_oot", "evil", "rk_hide"]
USERS = ["alice", "bob", "deploy", "ops", "backup", "www-data", "git", "postgres"]
INVALID_USERS = ["admin", "test", "oracle", "ubuntu", "pi", "support", "guest", "user1"]
SERVICES = [
    "apt-daily.service", "apt-daily-upgrade.service", "logrotate.service", "man-db.service",
    "fstrim.service", "systemd-tmpfiles-clean.service", "phpsessionclean.service",
    "certbot.service", "dpkg-db-backup.service", "e2scrub_all.service",
]  # fmt: skip
CRON_COMMANDS = [
    "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
    "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then /usr/lib/php/sessionclean; fi",
    "cd / && run-parts --report /etc/cron.hourly",
    "/usr/local/bin/backup.sh --incremental >> /var/log/backup.log 2>&1",
    "test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )",
]  # fmt: skip
SUDO_COMMANDS = [
    "/usr/bin/apt update", "/usr/bin/systemctl restart nginx", "/usr/bin/journalctl -u ssh",
    "/usr/bin/tail -n 100 /var/log/auth.log", "/usr/sbin/iptables -L -n", "/bin/cat /etc/shadow",
]  # fmt: skip


class Corpus:
    """Line factory over one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = datetime(2026, 10, 27, 0, 0, 0)
        self.uptime = 1234.5
        self.pid = 1000

    def ip(self) -> str:
        r = self.rng
        return f"{r.choice([10, 172, 192, 203, 198, 45, 185])}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def next_pid(self) -> int:
        self.pid = 1000 + (self.pid + self.rng.randrange(1, 40)) % 60000
        return self.pid

    def header(self, tag: str) -> str:
        self.clock += timedelta(milliseconds=self.rng.randrange(0, 5200))
        stamp = f"{self.clock:%b} {self.clock.day:>2} {self.clock:%H:%M:%S}"
        return f"{stamp} web1 {tag}: "

    def kernel(self, text: str) -> str:
        self.uptime += self.rng.random() * 4
        return self.header("kernel") + f"[{self.uptime:12.6f}] {text}"

    def normal(self) -> str:
        r = self.rng
        kind = r.random()
        if kind < 0.22:
            pid = self.next_pid()
            choice = r.random()
            head = self.header(f"sshd[{pid}]")  # drawn before the message, as in every branch
            if choice < 0.3:
                return head + (
                    f"Failed password for invalid user {r.choice(INVALID_USERS)} from {self.ip()} "
                    f"port {r.randrange(1024, 65535)} ssh2"
                )
            if choice < 0.5:
                return head + (
                    f"Accepted publickey for {r.choice(USERS)} from {self.ip()} port "
                    f"{r.randrange(1024, 65535)} ssh2: ED25519 SHA256:{r.randbytes(24).hex()[:43]}"
                )
            if choice < 0.7:
                return head + (
                    f"pam_unix(sshd:session): session opened for user {r.choice(USERS)}"
                    f"(uid={r.randrange(1000, 1010)}) by (uid=0)"
                )
            if choice < 0.85:
                return head + (
                    f"Disconnected from user {r.choice(USERS)} {self.ip()} port {r.randrange(1024, 65535)}"
                )
            return head + (
                f"Connection closed by authenticating user root {self.ip()} port "
                f"{r.randrange(1024, 65535)} [preauth]"
            )
        if kind < 0.40:
            service = r.choice(SERVICES)
            verb = r.choice(["Starting", "Finished", "Started"])
            if r.random() < 0.3:
                return self.header("systemd[1]") + f"{service}: Deactivated successfully."
            if r.random() < 0.2:
                return self.header("systemd[1]") + (
                    f"Started session-{r.randrange(1, 900)}.scope - Session {r.randrange(1, 900)} "
                    f"of User {r.choice(USERS)}."
                )
            return (
                self.header("systemd[1]")
                + f"{verb} {service} - {service[:-8].replace('-', ' ')}..."
            )
        if kind < 0.55:
            pid = self.next_pid()
            if r.random() < 0.5:
                return self.header(f"CRON[{pid}]") + f"(root) CMD ({r.choice(CRON_COMMANDS)})"
            return self.header(f"CRON[{pid}]") + (
                "pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
            )
        if kind < 0.75:
            choice = r.random()
            if choice < 0.45:
                return self.kernel(
                    f"[UFW BLOCK] IN=eth0 OUT= MAC=52:54:00:{r.randrange(256):02x}:{r.randrange(256):02x}:"
                    f"{r.randrange(256):02x}:fe:ff:00:00:00:08:00 SRC={self.ip()} DST=192.0.2.15 "
                    f"LEN={r.randrange(40, 1500)} TOS=0x00 PREC=0x00 TTL={r.randrange(30, 255)} "
                    f"ID={r.randrange(65535)} PROTO=TCP SPT={r.randrange(1024, 65535)} "
                    f"DPT={r.choice([22, 23, 445, 3389, 8080, 5900])} WINDOW=1024 RES=0x00 SYN URGP=0"
                )
            if choice < 0.6:
                return self.kernel(
                    f"audit: type=1400 audit({self.clock.replace(tzinfo=UTC).timestamp():.3f}:{r.randrange(10000)}): "
                    f'apparmor="DENIED" operation="open" class="file" profile="/usr/sbin/cupsd" '
                    f'name="/etc/ssl/private/" pid={self.next_pid()} comm="cupsd" '
                    f'requested_mask="r" denied_mask="r" fsuid=0 ouid=0'
                )
            if choice < 0.75:
                return self.kernel(
                    f"usb 1-{r.randrange(1, 4)}: new high-speed USB device number "
                    f"{r.randrange(2, 30)} using xhci_hcd"
                )
            if choice < 0.9:
                return self.kernel(
                    "e1000e 0000:00:1f.6 eth0: NIC Link is Up 1000 Mbps Full Duplex, Flow Control: Rx/Tx"
                )
            return self.kernel(
                "EXT4-fs (sda1): re-mounted 6d5e4a3b-2c1f-4e0d-9a8b-7c6d5e4f3a2b. Quota mode: none."
            )
        if kind < 0.83:
            user = r.choice(USERS[:4])
            return self.header(f"sudo[{self.next_pid()}]") + (
                f"   {user} : TTY=pts/{r.randrange(4)} ; PWD=/home/{user} ; USER=root ; "
                f"COMMAND={r.choice(SUDO_COMMANDS)}"
            )
        if kind < 0.90:
            return self.header("NetworkManager[688]") + (
                f"<info>  [{self.clock.replace(tzinfo=UTC).timestamp():.4f}] dhcp4 (eth0): state changed new lease, "
                f"address=192.0.2.{r.randrange(2, 250)}"
            )
        if kind < 0.94:
            return self.header("systemd-logind[612]") + (
                f"New session {r.randrange(1, 900)} of user {r.choice(USERS)}."
            )
        if kind < 0.97:
            return self.header(f"postfix/smtpd[{self.next_pid()}]") + (
                f"connect from unknown[{self.ip()}]"
            )
        if kind < 0.99:
            return self.header("dbus-daemon[604]") + (
                "[system] Successfully activated service 'org.freedesktop.PackageKit'"
            )
        return self.header("rsyslogd") + (
            '[origin software="rsyslogd" swVersion="8.2302.0" x-pid="540" '
            'x-info="https://www.rsyslog.com"] rsyslogd was HUPed'
        )

    def target(self) -> str:
        return self.kernel(f"{self.rng.choice(MODULES)}: {TAINT}")

    def near_miss(self, index: int) -> str:
        module = self.rng.choice(MODULES)
        variant = index % 4
        if variant == 0:
            return self.kernel(f"{module}: loading out-of-tree module taints kernel.")
        if variant == 1:
            return self.header(f"bash[{self.next_pid()}]") + f"echo '{module}: {TAINT}'"
        if variant == 2:
            return self.kernel(f"{module}: module verification failed: signature missing")
        return self.header(f"kernel-helper[{self.next_pid()}]") + f"{module}: {TAINT}"


def generate(path: Path, lines: int, targets: int, near_misses: int, seed: int) -> dict[str, int]:
    """Write the corpus; return its counts."""
    corpus = Corpus(seed)
    special = random.Random(seed + 1).sample(range(lines), targets + near_misses)
    kinds = {index: "target" for index in special[:targets]}
    kinds.update({index: "near" for index in special[targets:]})
    near_index = 0
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for index in range(lines):
            kind = kinds.get(index)
            if kind == "target":
                line = corpus.target()
            elif kind == "near":
                line = corpus.near_miss(near_index)
                near_index += 1
            else:
                line = corpus.normal()
            out.write(line + "\n")
    size = path.stat().st_size
    return {"lines": lines, "targets": targets, "near_misses": near_misses, "bytes": size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--near-misses", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20261126)
    args = parser.parse_args(argv)
    if args.targets + args.near_misses > args.lines:
        parser.error("more special lines than lines")
    counts = generate(args.output, args.lines, args.targets, args.near_misses, args.seed)
    json.dump(counts, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
