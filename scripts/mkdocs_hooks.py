"""MkDocs hooks of the documentation site (mkdocs.yml `hooks:`): pages generated at build time.

- `cli.md`: the command-line reference, the help text click prints for every command.
- `rules/index.md` and `rules/<rule file stem>.md`: one page per bundled rule with its
  description, ATT&CK mapping, investigation guide, setup, sample events and its query in every
  conversion target.
- `repo/<path>`: a copy of each repository file outside docs/ that a page links to with a
  relative link (`../backends/README.md`), so such links work both on GitHub and in the site,
  and a link to a file that does not exist still fails `mkdocs build --strict`.

Nothing generated is written into docs/; MkDocs keeps these pages in memory.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import click
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
# Targets in the order the rule pages show them; targets added later follow in id order.
TARGET_ORDER = ("kibana-kql", "lucene", "eql", "esql", "splunk", "sentinel")
FENCE = {"kql": "text", "lucene": "text", "eql": "text", "esql": "sql", "spl": "text"}
_LINK = re.compile(r"(\]\()(\.\./[^)\s#]+)(#[^)\s]*)?(\))")
_HEADING = re.compile(r"^(#{1,5}) ", re.MULTILINE)


def on_config(config: Any) -> Any:
    """Add one navigation entry per bundled rule under the "Rules" section."""
    pages = [{_rule_title(rule): f"rules/{stem}.md"} for stem, rule in _bundled_rules()]
    for section in config["nav"]:
        if isinstance(section, dict) and "Rules" in section:
            section["Rules"] = ["rules/index.md", *pages]
    return config


def on_files(files: Files, config: Any) -> Files:
    """Generate the CLI reference, the rule pages and copies of linked repository files."""
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    rules = _bundled_rules()
    files.append(File.generated(config, "rules/index.md", content=rules_index(rules)))
    for stem, rule in rules:
        files.append(File.generated(config, f"rules/{stem}.md", content=rule_page(stem, rule)))
    docs = Path(config["docs_dir"]).resolve()
    for target in sorted(_outside_links(docs)):
        files.append(
            File.generated(config, f"repo/{target}", content=(ROOT / target).read_text("utf-8"))
        )
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Point relative links that leave docs/ at the generated `repo/` copies."""
    docs = Path(config["docs_dir"]).resolve()
    source = docs / page.file.src_uri

    def rewrite(match: re.Match[str]) -> str:
        target = (source.parent / match[2]).resolve()
        if docs in target.parents or ROOT not in target.parents or not target.is_file():
            return match[0]  # inside docs/, or missing: MkDocs validates it as written
        copy = docs / "repo" / target.relative_to(ROOT)
        relative = Path(_relpath(copy, source.parent))
        return f"{match[1]}{relative.as_posix()}{match[3] or ''}{match[4]}"

    return _LINK.sub(rewrite, markdown)


# --- the CLI reference ---------------------------------------------------------------------


def cli_reference() -> str:
    """Markdown of `taintsigma --help` and of `taintsigma COMMAND --help` for every command."""
    from taintsigma.cli.main import COMMANDS, cli

    root = click.Context(cli, info_name="taintsigma", obj={})
    parts = [
        "# Command-line reference\n",
        "Generated from the commands themselves when the site is built: each section is what",
        "`taintsigma COMMAND --help` prints.\n",
        "## taintsigma\n",
        f"```text\n{cli.get_help(root)}\n```\n",
    ]
    for name in COMMANDS:
        command = cli.get_command(root, name)
        ctx = click.Context(command, info_name=name, parent=root, obj={})
        parts += [f"## taintsigma {name}\n", f"```text\n{command.get_help(ctx)}\n```\n"]
    return "\n".join(parts)


# --- rule pages ----------------------------------------------------------------------------


def _bundled_rules() -> list[tuple[str, Any]]:
    from taintsigma.rules.loader import load_rules, output_stems

    rules = list(load_rules())
    return list(zip(output_stems(rules), rules))


def _rule_title(rule: Any) -> str:
    return str(rule.title)


def rules_index(rules: list[tuple[str, Any]]) -> str:
    """The list of bundled rules with level and ATT&CK techniques."""
    from taintsigma.rules.attack import map_attack_tags

    lines = [
        "# Bundled rules\n",
        "Every rule taintsigma ships in `sigma_rules/`, each with its own page: what it detects,",
        "how to investigate it, its sample events and its query in every target.",
        "`taintsigma coverage -o layer.json` writes their ATT&CK Navigator layer. A kernel",
        "message in a syslog file can be forged with `logger -t kernel`; see",
        "[forged kernel messages](../writing-rules.md#forged-kernel-messages).\n",
        "| rule | level | ATT&CK |",
        "| --- | --- | --- |",
    ]
    for stem, rule in rules:
        techniques = ", ".join(map_attack_tags(rule.tags).named_technique_ids)
        level = rule.level.name.lower() if rule.level else ""
        lines.append(f"| [{_rule_title(rule)}]({stem}.md) | {level} | {techniques} |")
    return "\n".join(lines) + "\n"


def rule_page(stem: str, rule: Any) -> str:
    """One rule's page: description, ATT&CK, guide, setup, samples, queries per target."""
    from taintsigma.resources import bundled_rules_dir
    from taintsigma.rules.attack import map_attack_tags

    source = bundled_rules_dir() / f"{stem}.yml"
    attrs = rule.custom_attributes or {}
    level = rule.level.name.lower() if rule.level else "medium"
    out = [
        f"# {_rule_title(rule)}\n",
        f"`{rule.id}` · level **{level}** · status {rule.status.name.lower() if rule.status else ''}"
        f" · `sigma_rules/{stem}.yml`\n",
        f"{rule.description}\n",
        "## ATT&CK\n",
        "| tactic | technique |",
        "| --- | --- |",
    ]
    mapping = map_attack_tags(rule.tags)
    for entry in mapping.threats:
        for item in entry.techniques:
            for technique in item.subtechniques or (item.technique,):
                out.append(
                    f"| [{entry.tactic.name}]({entry.tactic.reference}) "
                    f"| [{technique.id} {technique.name}]({technique.reference}) |"
                )
    out.append("")
    if rule.falsepositives:
        out += ["## False positives\n", *[f"- {fp}" for fp in rule.falsepositives], ""]
    out += ["## Queries in every target\n", *_queries(rule), ""]
    out += ["## The rule\n", f"```yaml\n{source.read_text('utf-8').rstrip()}\n```\n"]
    if attrs.get("note"):
        out += ["## Investigation guide\n", _demote(str(attrs["note"])), ""]
    if attrs.get("setup"):
        # A guide's own "## Setup" title would repeat the page's section title.
        setup = re.sub(r"\A\s*## Setup\s*\n", "", str(attrs["setup"]))
        out += ["## Setup\n", _demote(setup), ""]
    out += ["## Sample events\n", *_samples(source), ""]
    if rule.references:
        out += ["## References\n", *[f"- <{ref}>" for ref in rule.references], ""]
    return "\n".join(out)


def _queries(rule: Any) -> list[str]:
    from taintsigma.convert.conversion import convert_rule
    from taintsigma.convert.targets import load_target, target_ids
    from taintsigma.errors import TaintSigmaError

    ids = [t for t in TARGET_ORDER if t in target_ids()]
    ids += sorted(set(target_ids()) - set(ids))
    lines: list[str] = []
    for target_id in ids:
        target = load_target(target_id)
        lines.append(f'### {target.name} {{ #query-{target_id} }}\n')
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                query = convert_rule(rule, target)
        except TaintSigmaError as err:
            lines += ['!!! warning "Not converted for this target"', f"    {err}", ""]
            continue
        fence = FENCE.get(target.extension, "text")
        lines.append(f"```{fence}\n{query}\n```\n")
        for warning in caught:
            if issubclass(warning.category, UserWarning):
                lines += ['!!! note "Translation note"', f"    {warning.message}", ""]
    return lines


def _samples(source: Path) -> list[str]:
    folder = source.with_name(f"{source.stem}.events")
    if not folder.is_dir():
        return ["This rule has no sample events."]
    lines = [
        f"`taintsigma test` runs these files from `sigma_rules/{folder.name}/`: every event of",
        "`positive/` must match the rule and no event of `negative/` may.\n",
    ]
    for kind in ("positive", "negative"):
        for sample in sorted((folder / kind).glob("*")):
            if sample.is_file():
                fence = "json" if sample.suffix in (".json", ".ndjson") else "text"
                body = sample.read_text("utf-8").rstrip()
                lines += [f"**{kind}/{sample.name}**\n", f"```{fence}\n{body}\n```\n"]
    return lines


def _demote(markdown: str) -> str:
    """Move the headings of an embedded guide one level down, below the page's own `##`."""
    parts = re.split(r"(```.*?```)", markdown, flags=re.DOTALL)
    return "".join(
        part if part.startswith("```") else _HEADING.sub(lambda m: f"#{m[1]} ", part)
        for part in parts
    )


# --- links out of docs/ --------------------------------------------------------------------


def _outside_links(docs: Path) -> set[str]:
    """Repository paths (POSIX, relative to the root) of files outside docs/ that pages link."""
    found: set[str] = set()
    for page in docs.rglob("*.md"):
        for match in _LINK.finditer(page.read_text("utf-8")):
            target = (page.parent / match[2]).resolve()
            if docs not in target.parents and ROOT in target.parents and target.is_file():
                found.add(target.relative_to(ROOT).as_posix())
    return found


def _relpath(path: Path, start: Path) -> str:
    import os

    return os.path.relpath(path, start)
