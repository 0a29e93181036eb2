"""Turn the grader's JSON report into a Markdown table (for a GitHub job summary).

Usage: python tools/grade_summary.py grading-report.json >> "$GITHUB_STEP_SUMMARY"
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def markdown(report: dict) -> str:
    lines = [
        f"## Exercise grades: {report['earned']}/{report['possible']}",
        "",
        (
            "A self-check, for feedback: not the official grade, which your instructor's "
            "grader gives on fresh inputs."
        ),
        "",
    ]
    for notebook in report["notebooks"]:
        lines += [
            f"### `{notebook['notebook']}`: {notebook['earned']}/{notebook['possible']}",
            "",
            "| graded cell | points | status | hint |",
            "|---|---|---|---|",
        ]
        for row in notebook["cells"]:
            hint = row["message"].splitlines()[0] if row["message"] else ""
            hint = hint.replace("|", "\\|")
            lines.append(f"| `{row['grade_id']}` | {row['earned']}/{row['points']} | {row['status']} | {hint} |")
        lines.append("")
    lines.append(f"SCORE {report['earned']}/{report['possible']}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "grading-report.json")
    if not path.exists():
        print(f"No grade report at {path}: did the grading step run?", file=sys.stderr)
        return 1
    sys.stdout.write(markdown(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
