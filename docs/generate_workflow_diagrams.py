"""Generate the Mermaid diagrams of docs/workflows.md from the state machine definitions.

Each `infra/workflows/*.asl.json` becomes one `stateDiagram-v2` between the markers in
docs/workflows.md. Run `python docs/generate_workflow_diagrams.py` after changing a definition,
and commit the result. With `--check` it writes nothing and exits 1 when the diagrams are stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra.workflow_definitions import definition_files, load_definition  # noqa: E402

DOCUMENT = ROOT / "docs" / "workflows.md"
BEGIN = "<!-- BEGIN GENERATED DIAGRAMS: python docs/generate_workflow_diagrams.py -->"
END = "<!-- END GENERATED DIAGRAMS -->"


def state_lines(states: dict[str, Any], indent: str, prefix: str = "") -> list[str]:
    """Return the Mermaid lines of one level of states; Parallel branches become nested states."""
    lines: list[str] = []
    for name, state in states.items():
        node = prefix + name
        kind = state["Type"]
        if kind == "Parallel":
            lines.append(f"{indent}state {node} {{")
            for index, branch in enumerate(state["Branches"]):
                if index:
                    lines.append(f"{indent}    --")
                branch_prefix = f"{node}_{index}_"
                lines.append(f"{indent}    [*] --> {branch_prefix}{branch['StartAt']}")
                lines.extend(state_lines(branch["States"], indent + "    ", branch_prefix))
            lines.append(f"{indent}}}")
        elif kind == "Choice":
            lines.append(f"{indent}state {node} <<choice>>")
        if node != name or kind not in ("Parallel", "Choice"):
            lines.append(f"{indent}{node} : {name} ({_describe(state)})")
        lines.extend(f"{indent}{line}" for line in transitions(node, state, prefix))
    return lines


def transitions(node: str, state: dict[str, Any], prefix: str) -> list[str]:
    edges = []
    for choice in state.get("Choices", []):
        condition = _condition(choice)
        edges.append(f"{node} --> {prefix}{choice['Next']} : {condition}")
    if "Default" in state:
        edges.append(f"{node} --> {prefix}{state['Default']} : otherwise")
    if "Next" in state:
        edges.append(f"{node} --> {prefix}{state['Next']}")
    for catcher in state.get("Catch", []):
        edges.append(f"{node} --> {prefix}{catcher['Next']} : {', '.join(catcher['ErrorEquals'])}")
    if state.get("End") or state["Type"] in ("Succeed", "Fail"):
        edges.append(f"{node} --> [*]")
    return edges


def diagram(definition: dict[str, Any]) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {definition['StartAt']}"]
    lines.extend(state_lines(definition["States"], "    "))
    return "\n".join(lines)


def generated_section() -> str:
    parts = [BEGIN]
    for path in definition_files():
        name = path.name.removesuffix(".asl.json")
        definition = load_definition(path.name)
        parts.append(f"\n### {name}\n\n{definition.get('Comment', '')}\n\n```mermaid\n{diagram(definition)}\n```")
    parts.append("\n" + END)
    return "\n".join(parts)


def render(document: str) -> str:
    """Return the document with its generated section replaced; raise ValueError without markers."""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(document):
        raise ValueError(f"{DOCUMENT} lacks the markers {BEGIN!r} and {END!r}")
    return pattern.sub(lambda _: generated_section(), document)


def _describe(state: dict[str, Any]) -> str:
    resource = state.get("Resource", "")
    if state["Type"] != "Task":
        return state["Type"]
    step = state.get("Parameters", {}).get("MessageBody", {}).get("step")
    if step:
        waits = "waits for token" if resource.endswith(".waitForTaskToken") else "notice"
        return f"worker step {step}, {waits}"
    return resource.removeprefix("arn:aws:states:::")


def _condition(choice: dict[str, Any]) -> str:
    for operator, value in choice.items():
        if operator not in ("Variable", "Next"):
            return f"{choice.get('Variable', '')} {operator} {value}".replace(":", " ")
    return "condition"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python docs/generate_workflow_diagrams.py", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing, and exit 1 when the diagrams are stale")
    arguments = parser.parse_args(argv)

    current = DOCUMENT.read_text(encoding="utf-8")
    updated = render(current)
    if arguments.check:
        if updated != current:
            print(f"stale: {DOCUMENT}. Run `python docs/generate_workflow_diagrams.py` and commit the result.", file=sys.stderr)
            return 1
        return 0
    if updated != current:
        DOCUMENT.write_text(updated, encoding="utf-8")
        print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
