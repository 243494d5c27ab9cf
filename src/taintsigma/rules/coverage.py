"""ATT&CK coverage of a rule set: an ATT&CK Navigator layer (format 4.5) scored by rule count.

The techniques come from each rule's ``attack.t…`` tags, resolved against the bundled ATT&CK
snapshot (:mod:`taintsigma.rules.attack`): a rule that names a sub-technique covers that
sub-technique (``T1547.006``), not its whole parent. A technique's score is the number of
rules that cover it; its comment names them. The layer format is MITRE's:
https://github.com/mitre-attack/attack-navigator/blob/master/layers/LAYERFORMATv4_5.md

>>> from taintsigma.rules.loader import load_rules
>>> layer = coverage_layer(load_rules())
>>> layer["versions"]["layer"], layer["domain"]
('4.5', 'enterprise-attack')
>>> sorted(t["techniqueID"] for t in layer["techniques"])[:2]
['T1014', 'T1068']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from taintsigma.rules.attack import ATTACK_SITE, load_attack, map_attack_tags
from taintsigma.rules.loader import rule_id

LAYER_FORMAT = "4.5"
# The layer format 4.5 asks for a Navigator version of at least 4.9.0; 5.x reads it.
NAVIGATOR_VERSION = "5.1.0"
DOMAIN = "enterprise-attack"
# White (no rule) to blue (the most rules), the Navigator's own default blue.
GRADIENT_COLORS = ("#ffffff", "#66b1ff")
# Sigma logsource products → ATT&CK Enterprise platform names of the Navigator's filter.
PLATFORMS = {"linux": "Linux", "windows": "Windows", "macos": "macOS"}


@dataclass
class TechniqueCoverage:
    """One technique and the rules (title, id) that cover it, in rule order."""

    technique_id: str
    name: str
    rules: list[tuple[str, str]] = field(default_factory=list)


def technique_coverage(rules: Iterable[Any]) -> list[TechniqueCoverage]:
    """The techniques the rules name, each with the rules naming it, ordered by technique id.

    Tags the bundled snapshot does not know are left out here; ``taintsigma check`` reports
    them.
    """
    covered: dict[str, TechniqueCoverage] = {}
    for rule in rules:
        mapping = map_attack_tags(getattr(rule, "tags", None) or [])
        snapshot = load_attack()
        for technique_id in mapping.named_technique_ids:
            technique = snapshot.technique(technique_id)
            if technique is None:
                continue
            entry = covered.setdefault(
                technique.id, TechniqueCoverage(technique_id=technique.id, name=technique.name)
            )
            entry.rules.append((str(getattr(rule, "title", "")), rule_id(rule)))
    return [covered[key] for key in sorted(covered, key=_technique_sort_key)]


def coverage_layer(
    rules: Iterable[Any], *, name: str = "taintsigma rule coverage", description: str | None = None
) -> dict[str, Any]:
    """An ATT&CK Navigator layer (format 4.5) of the techniques ``rules`` cover.

    Each technique covered gets ``score`` = the number of rules naming it and a ``comment``
    listing them; the gradient runs from 0 to the highest score. Returns the layer as a dict,
    ready for ``json.dump``.
    """
    rules = list(rules)
    coverage = technique_coverage(rules)
    top = max((len(entry.rules) for entry in coverage), default=0)
    snapshot = load_attack()
    platforms = sorted(
        {
            PLATFORMS[product]
            for rule in rules
            if (product := str(getattr(getattr(rule, "logsource", None), "product", "") or ""))
            in PLATFORMS
        }
    )
    layer: dict[str, Any] = {
        "name": name,
        "versions": {
            "attack": snapshot.version.split(".")[0],
            "navigator": NAVIGATOR_VERSION,
            "layer": LAYER_FORMAT,
        },
        "domain": DOMAIN,
        "description": description
        or (
            f"Techniques covered by {len(rules)} Sigma rule(s), scored by the number of rules "
            f"covering each (ATT&CK {snapshot.version}, bundled with taintsigma)."
        ),
    }
    if platforms:
        layer["filters"] = {"platforms": platforms}
    layer.update(
        {
            "sorting": 3,
            "layout": {
                "layout": "side",
                "aggregateFunction": "max",
                "showID": True,
                "showName": True,
                "showAggregateScores": False,
                "countUnscored": False,
                "expandedSubtechniques": "annotated",
            },
            "hideDisabled": False,
            "techniques": [_technique_entry(entry) for entry in coverage],
            "gradient": {
                "colors": list(GRADIENT_COLORS),
                "minValue": 0,
                # The format requires maxValue > minValue, even for an empty layer.
                "maxValue": max(top, 1),
            },
            "legendItems": [
                {"label": "no rule", "color": GRADIENT_COLORS[0]},
                {"label": f"{max(top, 1)} rule(s)", "color": GRADIENT_COLORS[1]},
            ],
            "metadata": [
                {"name": "generator", "value": "taintsigma coverage"},
                {"name": "rules", "value": str(len(rules))},
            ],
            "showTacticRowBackground": False,
            "tacticRowBackground": "#dddddd",
            "selectTechniquesAcrossTactics": True,
            "selectSubtechniquesWithParent": False,
            "selectVisibleTechniques": False,
        }
    )
    return layer


def _technique_entry(entry: TechniqueCoverage) -> dict[str, Any]:
    titles = "; ".join(title for title, _ in entry.rules)
    return {
        "techniqueID": entry.technique_id,
        "score": len(entry.rules),
        "comment": f"{entry.name}: {len(entry.rules)} rule(s): {titles}",
        "enabled": True,
        "metadata": [{"name": "rule", "value": f"{title} ({rid})"} for title, rid in entry.rules],
        "links": [
            {
                "label": f"{entry.technique_id} {entry.name}",
                "url": f"{ATTACK_SITE}/techniques/{entry.technique_id.replace('.', '/')}/",
            }
        ],
        "showSubtechniques": False,
    }


def _technique_sort_key(technique_id: str) -> tuple[int, int]:
    parent, _, sub = technique_id[1:].partition(".")
    return int(parent), int(sub or -1)
