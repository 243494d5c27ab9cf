"""Fuzzing the rule loader (and what runs on what it loads): arbitrary bytes and damaged real
rules never raise anything but a TaintSigmaError, and each error names its file.
More examples: see tests/fuzzing.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fuzzing import FUZZ, mutated
from hypothesis import given
from hypothesis import strategies as st
from regen_golden import REPO

from taintsigma import ErrorPolicy, TaintSigmaError, compile_rules, convert_rules, load_rules

RULE_FILES = sorted(
    [*(REPO / "sigma_rules").glob("*.yml"), *(REPO / "tests" / "rules").glob("*.yml"),
     *(REPO / "tests/corpus/sigmahq/rules/linux").rglob("*.yml")]
)  # fmt: skip
# A spread of real rules (every 7th SigmaHQ rule, plus ours): keywords, lists, modifiers.
SAMPLES = [path.read_bytes() for path in RULE_FILES[::7]]
RULE_TEXT = st.one_of(st.binary(max_size=2000), mutated(SAMPLES))


def load_all_ways(files: list[bytes]) -> None:
    """Write the files into a folder and load, compile and convert them; only
    TaintSigmaErrors, each naming a file of the folder."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for number, text in enumerate(files):
            (folder / f"rule_{number}.yml").write_bytes(text)
        loaded = load_rules(folder, on_error=ErrorPolicy.COLLECT)
        for err in loaded.errors:
            assert isinstance(err, TaintSigmaError)
            assert err.path is not None and err.path.parent == folder, str(err)
            assert "\n" not in str(err)
        try:
            load_rules(folder)
        except TaintSigmaError as err:
            assert err.path is not None
        matcher = compile_rules(loaded, on_error=ErrorPolicy.COLLECT)
        for _, err in matcher.errors:
            assert isinstance(err, TaintSigmaError)
        report = convert_rules(loaded, "lucene", on_error=ErrorPolicy.COLLECT)
        for err in report.errors:
            assert isinstance(err, TaintSigmaError)


@FUZZ
@given(text=RULE_TEXT)
def test_any_rule_file_loads_or_is_one_error_naming_it(text: bytes) -> None:
    load_all_ways([text])


@FUZZ
@given(files=st.lists(RULE_TEXT, min_size=2, max_size=4))
def test_a_folder_of_damaged_rules_loads_every_good_one(files: list[bytes]) -> None:
    load_all_ways(files)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        good = REPO / "sigma_rules" / "tainted_kernel_module_load.yml"
        (folder / "good.yml").write_bytes(good.read_bytes())
        for number, text in enumerate(files):
            (folder / f"rule_{number}.yml").write_bytes(text)
        loaded = load_rules(folder, on_error=ErrorPolicy.COLLECT)
        # The good rule is there unless a damaged copy of it shares its id (pySigma keeps one).
        titles = [rule.title for rule in loaded]
        assert "Tainted Kernel Module Load" in titles or any(
            b"05cad2fb-200c-407f-b472-02ea8c9e5e4a" in text for text in files
        )
