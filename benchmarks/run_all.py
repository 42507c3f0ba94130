"""Run the benchmarks and assemble docs/benchmarks.md from their sections.

`python -m benchmarks.run_all` runs every benchmark; `--only core sentiment` runs some and
keeps the stored sections of the others. Each section is stored in benchmarks/results/<name>.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
PAGE = ROOT.parent / "docs" / "benchmarks.md"
ORDER = ("core", "audit", "sentiment", "triage", "resolution", "anomaly", "logfailure", "demand", "decisions")

HEADER = """# Benchmarks

Every number here comes from a script in `benchmarks/` on a 2-core machine; `make bench`
regenerates the page. Speed is reported as ratios against a baseline measured in the same run;
model quality is measured on the public data sets against named baselines.
"""


def available() -> list[str]:
    return [name for name in ORDER if (ROOT / f"bench_{name}.py").is_file()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="*", default=None, help="benchmarks to run; the others keep their stored sections")
    args = parser.parse_args(argv)
    selected = args.only if args.only is not None else available()

    RESULTS.mkdir(exist_ok=True)
    for name in selected:
        started = time.perf_counter()
        print(f"running bench_{name} ...", file=sys.stderr)
        section = importlib.import_module(f"benchmarks.bench_{name}").run()
        (RESULTS / f"{name}.md").write_text(section.rstrip() + "\n", "utf-8")
        print(f"bench_{name} took {time.perf_counter() - started:.0f} s", file=sys.stderr)

    sections = [(RESULTS / f"{name}.md").read_text("utf-8").rstrip() for name in ORDER if (RESULTS / f"{name}.md").is_file()]
    PAGE.write_text(HEADER + "\n" + "\n\n".join(sections) + "\n", "utf-8")
    print(f"wrote {PAGE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
