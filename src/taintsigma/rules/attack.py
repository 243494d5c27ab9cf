"""ATT&CK Enterprise offline: the bundled snapshot, and a rule's ``attack.*`` tags → tactics.

Everything here reads ``taintsigma/data/attack/enterprise-attack.json`` (package data, built by
``scripts/build_attack_snapshot.py``); nothing is ever downloaded, and pySigma's own ATT&CK
loader (``sigma.data.mitre_attack``, which fetches MITRE's STIX bundle) is never used.

>>> from taintsigma.rules.attack import load_attack, threat_from_tags
>>> load_attack().technique("T1014").name
'Rootkit'
>>> threat = threat_from_tags(["attack.defense-evasion", "attack.t1014"])
>>> threat[0]["tactic"]["id"], threat[0]["technique"][0]["reference"]
('TA0005', 'https://attack.mitre.org/techniques/T1014/')
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from taintsigma.errors import TaintSigmaError
from taintsigma.resources import package_data
from taintsigma.rules.issues import CheckIssue, rule_issue

ATTACK_SITE = "https://attack.mitre.org"
FRAMEWORK = "MITRE ATT&CK"
SNAPSHOT_RESOURCE = ("data", "attack", "enterprise-attack.json")

_TECHNIQUE_TAG = re.compile(r"t\d{4}(?:\.\d{3})?")
# Other ATT&CK object ids Sigma tags may carry (groups, software, data sources, mitigations,
# campaigns); the snapshot does not hold them, so they are accepted without a check.
_OTHER_ID_TAG = re.compile(r"(?:g|s|ds|m|c)\d{4}")


class AttackTagWarning(UserWarning):
    """An ``attack.*`` tag that names no tactic or technique of the bundled ATT&CK snapshot."""


@dataclass(frozen=True, kw_only=True)
class Tactic:
    """An ATT&CK tactic: id (``TA0003``), short name (``persistence``), display name."""

    id: str
    short_name: str
    name: str

    @property
    def reference(self) -> str:
        """The tactic's page, e.g. ``https://attack.mitre.org/tactics/TA0003/``."""
        return f"{ATTACK_SITE}/tactics/{self.id}/"


@dataclass(frozen=True, kw_only=True)
class Technique:
    """An ATT&CK technique or sub-technique, with the short names of its tactics."""

    id: str
    name: str
    tactics: tuple[str, ...]

    @property
    def is_subtechnique(self) -> bool:
        return "." in self.id

    @property
    def parent_id(self) -> str:
        """``T1547`` for ``T1547.006``; a technique's own id otherwise."""
        return self.id.partition(".")[0]

    @property
    def reference(self) -> str:
        """The page, e.g. ``…/techniques/T1547/`` or ``…/techniques/T1547/006/``."""
        return f"{ATTACK_SITE}/techniques/{self.id.replace('.', '/')}/"


@dataclass(frozen=True, kw_only=True)
class AttackSnapshot:
    """The bundled ATT&CK Enterprise data: tactics in matrix order, techniques by id."""

    version: str
    source: str
    tactics: tuple[Tactic, ...]
    techniques: Mapping[str, Technique] = field(repr=False)
    retired: Mapping[str, str] = field(repr=False)

    def tactic(self, key: str) -> Tactic | None:
        """The tactic with this id (``TA0005``) or short name (``defense-evasion``), or None."""
        folded = key.strip().lower().replace("_", "-")
        for tactic in self.tactics:
            if folded in (tactic.id.lower(), tactic.short_name):
                return tactic
        return None

    def technique(self, technique_id: str) -> Technique | None:
        """The technique or sub-technique with this id (any case), or None."""
        return self.techniques.get(technique_id.strip().upper())


@cache
def load_attack() -> AttackSnapshot:
    """Read the bundled ATT&CK snapshot (cached); a damaged package raises TaintSigmaError."""
    try:
        data = json.loads(package_data(*SNAPSHOT_RESOURCE).read_text(encoding="utf-8"))
        return AttackSnapshot(
            version=str(data["attack_version"]),
            source=str(data["source"]),
            tactics=tuple(
                Tactic(id=t["id"], short_name=t["short_name"], name=t["name"])
                for t in data["tactics"]
            ),
            techniques={
                tid: Technique(id=tid, name=t["name"], tactics=tuple(t["tactics"]))
                for tid, t in data["techniques"].items()
            },
            retired=dict(data.get("retired", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise TaintSigmaError(
            f"the bundled ATT&CK snapshot cannot be read ({type(err).__name__}: {err}); "
            "reinstall taintsigma"
        ) from err


def attack_version() -> str:
    """The ATT&CK release the bundled snapshot holds, e.g. ``'18.1'``."""
    return load_attack().version


@dataclass(frozen=True, kw_only=True)
class ThreatTechnique:
    """A technique of a threat entry and the sub-techniques the rule names under it."""

    technique: Technique
    subtechniques: tuple[Technique, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ThreatEntry:
    """One tactic of a rule with the techniques the rule names under it."""

    tactic: Tactic
    techniques: tuple[ThreatTechnique, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AttackMapping:
    """What a rule's ``attack.*`` tags mean in ATT&CK, plus one message per bad tag."""

    threats: tuple[ThreatEntry, ...]
    problems: tuple[str, ...] = ()

    @property
    def tactics(self) -> tuple[Tactic, ...]:
        return tuple(entry.tactic for entry in self.threats)

    @property
    def techniques(self) -> tuple[Technique, ...]:
        """Every technique and sub-technique, each once, sub-techniques after parents."""
        seen: dict[str, Technique] = {}
        for entry in self.threats:
            for item in entry.techniques:
                seen.setdefault(item.technique.id, item.technique)
                for sub in item.subtechniques:
                    seen.setdefault(sub.id, sub)
        return tuple(seen.values())

    @property
    def technique_ids(self) -> tuple[str, ...]:
        """The ids of :attr:`techniques`."""
        return tuple(technique.id for technique in self.techniques)

    @property
    def named_technique_ids(self) -> tuple[str, ...]:
        """The most specific ids: a sub-technique instead of its parent (``T1547.006``)."""
        seen: dict[str, None] = {}
        for entry in self.threats:
            for item in entry.techniques:
                for tid in [s.id for s in item.subtechniques] or [item.technique.id]:
                    seen[tid] = None
        return tuple(seen)

    def to_kibana(self) -> list[dict[str, Any]]:
        """The ``threat`` array of Kibana's detection rule API (empty lists left out)."""
        threat: list[dict[str, Any]] = []
        for entry in self.threats:
            item: dict[str, Any] = {
                "framework": FRAMEWORK,
                "tactic": _ref(entry.tactic),
            }
            techniques: list[dict[str, Any]] = []
            for tt in entry.techniques:
                technique: dict[str, Any] = _ref(tt.technique)
                if tt.subtechniques:
                    technique["subtechnique"] = [_ref(s) for s in tt.subtechniques]
                techniques.append(technique)
            if techniques:
                item["technique"] = techniques
            threat.append(item)
        return threat


def _ref(obj: Tactic | Technique) -> dict[str, str]:
    return {"id": obj.id, "name": obj.name, "reference": obj.reference}


def map_attack_tags(tags: Iterable[object], *, rule_id: str | None = None) -> AttackMapping:
    """Resolve a rule's tags against the bundled ATT&CK snapshot.

    Tactic tags (``attack.persistence``) give the tactics in tag order. A technique tag
    (``attack.t1547.006``) is placed under every tactic of the rule that ATT&CK lists it under;
    when the rule names none of them, under all of its ATT&CK tactics. A sub-technique brings
    its parent technique. Unknown or retired ids are left out and described in ``problems``.

    >>> m = map_attack_tags(["attack.persistence", "attack.t1547.006"])
    >>> [(e.tactic.id, [t.technique.id for t in e.techniques]) for e in m.threats]
    [('TA0003', ['T1547'])]
    """
    snapshot = load_attack()
    who = f"rule {rule_id}: " if rule_id else ""
    tactics: dict[str, Tactic] = {}
    wanted: list[Technique] = []
    problems: list[str] = []
    for tag in tags:
        namespace, name = _split_tag(tag)
        if namespace != "attack" or not name:
            continue
        text = f"attack.{name}"
        if _TECHNIQUE_TAG.fullmatch(name):
            technique = snapshot.technique(name)
            if technique is None:
                status = snapshot.retired.get(name.upper())
                why = f"is {status} in" if status else "names no technique of"
                problems.append(f"{who}tag '{text}' {why} ATT&CK {snapshot.version}; left out")
            elif technique not in wanted:
                wanted.append(technique)
        elif _OTHER_ID_TAG.fullmatch(name):
            continue
        else:
            tactic = snapshot.tactic(name)
            if tactic is None:
                problems.append(
                    f"{who}tag '{text}' names no tactic of ATT&CK {snapshot.version}"
                    f"{_tactic_hint(name, snapshot)}; left out"
                )
            else:
                tactics.setdefault(tactic.short_name, tactic)
    # tactic short name -> parent technique id -> (technique, [sub-techniques])
    placed: dict[str, dict[str, tuple[Technique, list[Technique]]]] = {s: {} for s in tactics}
    for technique in wanted:
        parent = snapshot.technique(technique.parent_id) if technique.is_subtechnique else technique
        if parent is None:  # a snapshot always holds the parents; be safe anyway
            problems.append(f"{who}technique {technique.id} has no parent in the snapshot")
            continue
        homes = [s for s in tactics if s in technique.tactics] or list(technique.tactics)
        for short in homes:
            if short not in placed:
                tactic = snapshot.tactic(short)
                if tactic is None:
                    continue
                tactics[short] = tactic
                placed[short] = {}
            _, subs = placed[short].setdefault(parent.id, (parent, []))
            if technique.is_subtechnique and technique not in subs:
                subs.append(technique)
    threats = tuple(
        ThreatEntry(
            tactic=tactics[short],
            techniques=tuple(
                ThreatTechnique(technique=t, subtechniques=tuple(subs))
                for t, subs in placed[short].values()
            ),
        )
        for short in tactics
    )
    return AttackMapping(threats=threats, problems=tuple(problems))


def threat_from_tags(tags: Iterable[object], *, rule_id: str | None = None) -> list[dict[str, Any]]:
    """Kibana's ``threat`` array for a rule's tags; each bad tag emits an AttackTagWarning.

    >>> threat_from_tags(["attack.persistence"])[0]["tactic"]["name"]
    'Persistence'
    """
    mapping = map_attack_tags(tags, rule_id=rule_id)
    for problem in mapping.problems:
        warnings.warn(problem, AttackTagWarning, stacklevel=2)
    return mapping.to_kibana()


def check_attack_tags(rule: Any) -> list[CheckIssue]:
    """``taintsigma check``'s offline ATT&CK check: one issue per unknown or retired tag."""

    mapping = map_attack_tags(getattr(rule, "tags", None) or [])
    return [
        rule_issue(rule, check="attack_tags", severity="medium", message=problem)
        for problem in mapping.problems
    ]


def _split_tag(tag: object) -> tuple[str, str]:
    namespace = getattr(tag, "namespace", None)
    name = getattr(tag, "name", None)
    if isinstance(namespace, str) and isinstance(name, str):
        return namespace.lower(), name.lower()
    namespace, _, name = str(tag).partition(".")
    return namespace.lower(), name.lower()


def _tactic_hint(name: str, snapshot: AttackSnapshot) -> str:
    import difflib

    shorts = [t.short_name for t in snapshot.tactics]
    close = difflib.get_close_matches(name.replace("_", "-"), shorts, n=1, cutoff=0.6)
    return f" (did you mean 'attack.{close[0]}'?)" if close else ""
