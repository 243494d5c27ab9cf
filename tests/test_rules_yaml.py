"""Rule files' YAML: libyaml's C loader and the pure-Python fallback read the same data and
name the same line of a syntax error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from regen_golden import REPO

from taintsigma import RuleLoadError, load_rules
from taintsigma.rules import yamltext
from taintsigma.rules.loader import rule_files

LOADERS = [pytest.param(yaml.SafeLoader, id="pure-python")]
if hasattr(yaml, "CSafeLoader"):
    LOADERS.append(pytest.param(yaml.CSafeLoader, id="libyaml"))
else:  # pragma: no cover - PyYAML wheels ship libyaml
    LOADERS.append(pytest.param(None, id="libyaml", marks=pytest.mark.skip("no libyaml in PyYAML")))

BROKEN = {  # text -> the 1-based line of the error
    "title: [x\n": 2,
    "title: x\ndetection:\n  sel:\n    a: 1\n   b: 2\n": 5,
    "title: x\n- y\n": 2,
    "a: 1\n---\nb: 'unterminated\n": 4,
}


def test_the_fast_loader_is_used_when_pyyaml_has_libyaml() -> None:
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML was built without libyaml")
    assert yamltext.SAFE_LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("text", BROKEN)
def test_a_syntax_error_names_its_line(loader: type, text: str, tmp_path: Path) -> None:
    with pytest.raises(RuleLoadError) as caught:
        yamltext.load_documents(text, tmp_path / "r.yml", loader=loader)
    assert caught.value.line == BROKEN[text]
    assert str(caught.value).startswith(f"{tmp_path}/r.yml:{BROKEN[text]}: invalid YAML: ")


def test_both_loaders_read_every_vendored_rule_alike() -> None:
    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML was built without libyaml")
    files = rule_files([REPO / "tests" / "corpus" / "sigmahq" / "rules", REPO / "sigma_rules"])
    assert len(files) > 200
    for path in files:
        text = path.read_text(encoding="utf-8")
        fast = yamltext.load_documents(text, path, loader=yaml.CSafeLoader)
        slow = yamltext.load_documents(text, path, loader=yaml.SafeLoader)
        assert fast == slow, path


@pytest.mark.parametrize("loader", LOADERS)
def test_load_rules_works_on_either_loader(
    loader: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(yamltext, "SAFE_LOADER", loader)
    assert [r.title for r in load_rules()][-3] == "Tainted Kernel Module Load"
    (tmp_path / "broken.yml").write_text("title: x\n- y\n", encoding="utf-8")
    with pytest.raises(RuleLoadError) as caught:
        load_rules([tmp_path])
    assert str(caught.value).startswith(f"{tmp_path}/broken.yml:2: invalid YAML: ")
