"""Pairs of learners whose answers are unusually alike, listed for a person to review.

``python -m tools.grade.similarity SUBMISSIONS --out RESULTS [--notebook NN_topic.ipynb]``
writes ``RESULTS/similarity.json`` and ``RESULTS/similarity.html`` (the pairs, with their
answer cells side by side). It never changes a grade: it reads the same answer cells the judge
grades (tools/grade/collect.py and extract.py) and nothing else.

The method is MOSS's (Schleimer, Wilkerson and Aiken, "Winnowing: local algorithms for document
fingerprinting", SIGMOD 2003):

1. **Normalise**: Python's tokenizer; comments, blank lines and layout dropped; every local
   name becomes ``V``, every number ``N``, every string ``S`` (renaming a variable or rewording a
   comment changes nothing). Keywords, operators, attribute names and the libraries' names
   (``np``, ``torch``, ...) stay.
2. **Fingerprint**: hashes of every run of ``K`` tokens, winnowed (the smallest hash of each
   window of ``W`` consecutive ones), so that any shared run of ``K + W - 1`` tokens is found.
3. **Discount the expected**: fingerprints of the exercise itself (the stubs, the given code)
   and fingerprints that more than ``--max-share`` learners have (MOSS's ``-m``: the answer
   everybody converges on is not evidence) are dropped.
4. **Score** a pair by the share of the smaller answer's remaining fingerprints that the other
   answer also has; pairs at or above ``--threshold`` with at least ``--min-shared``
   fingerprints are listed, most alike first.

An alike pair is a question, not a verdict: two learners may have worked together as allowed,
or followed the same tutorial. Read the cells.
"""

from __future__ import annotations

import argparse
import builtins
import hashlib
import io
import json
import keyword
import sys
import tokenize
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from tools.grade import extract
from tools.grade.collect import NoLearners, answered_counter, collect
from tools.grade.html_page import page
from tools.grade.official import Official, official_exercises
from tools.grade.safe import html_text, printable

ROOT = Path(__file__).resolve().parents[2]
K, W = 12, 6
KEEP = set(keyword.kwlist) | set(dir(builtins)) | {
    "np", "numpy", "torch", "nn", "F", "math", "functools", "itertools", "collections"}


def tokens(source: str) -> list[str]:
    """The normalised token stream of ``source`` (best effort on code that does not parse)."""
    out: list[str] = []
    after_dot = False
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            kind, text = token.type, token.string
            if kind in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                        tokenize.DEDENT, tokenize.ENDMARKER, tokenize.ENCODING):
                continue
            if kind == tokenize.NAME:
                out.append(text if (after_dot or text in KEEP) else "V")
            elif kind == tokenize.NUMBER:
                out.append("N")
            elif kind == tokenize.STRING or kind == getattr(tokenize, "FSTRING_START", -1):
                out.append("S")
            else:
                out.append(text)
            after_dot = text == "."
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # what was read so far still counts
    return out


def fingerprints(stream: list[str], k: int = K, w: int = W) -> set[int]:
    """Winnowed k-gram hashes of a token stream."""
    if len(stream) < k:
        return set()
    hashes = [int.from_bytes(hashlib.blake2b("\x00".join(stream[i:i + k]).encode(),
                                             digest_size=8).digest(), "big")
              for i in range(len(stream) - k + 1)]
    if len(hashes) <= w:
        return {min(hashes)}
    return {min(hashes[i:i + w]) for i in range(len(hashes) - w + 1)}


@dataclass
class Answers:
    learner: str
    notebook: str
    cells: dict[int, str]  # official answer cell index -> the learner's source (changed ones)
    prints: set[int] = field(default_factory=set)


def answers_of(official: Official, path: Path) -> dict[int, str]:
    try:
        answers = extract.extract(official, extract.read_code_cells(path))
    except extract.Unreadable:
        return {}
    stubs = {cell.index: cell.source.strip() for cell in official.answers}
    return {index: source for index, source in answers.items()
            if source.strip() != stubs.get(index)}


def find_pairs(everyone: list[Answers], official: Official, max_share: int,
               threshold: float, min_shared: int) -> list[dict]:
    expected = set()
    for cell in official.cells:
        if cell.kind != "graded":
            expected |= fingerprints(tokens(cell.source))
    holders: dict[int, int] = {}
    for answers in everyone:
        answers.prints = set()
        for source in answers.cells.values():
            answers.prints |= fingerprints(tokens(source))
        answers.prints -= expected
        for value in answers.prints:
            holders[value] = holders.get(value, 0) + 1
    common = {value for value, count in holders.items() if count > max_share}
    for answers in everyone:
        answers.prints -= common
    pairs = []
    for a, b in combinations(everyone, 2):
        if not a.prints or not b.prints:
            continue
        shared = a.prints & b.prints
        score = len(shared) / min(len(a.prints), len(b.prints))
        if len(shared) >= min_shared and score >= threshold:
            cells = []
            for index in sorted(set(a.cells) | set(b.cells)):
                left, right = a.cells.get(index, ""), b.cells.get(index, "")
                alike = fingerprints(tokens(left)) & fingerprints(tokens(right)) & shared
                if alike:
                    cells.append({"cell": index, "a": left, "b": right, "shared": len(alike)})
            pairs.append({"notebook": official.name, "a": a.learner, "b": b.learner,
                          "score": round(score, 3), "shared": len(shared), "cells": cells})
    return sorted(pairs, key=lambda pair: (-pair["score"], -pair["shared"], pair["a"], pair["b"]))


def run(submissions: Path, course: Path, only: list[str] | None, max_share: int | None,
        threshold: float, min_shared: int) -> dict:
    officials = official_exercises(course, only)
    learners = collect(submissions, [official.name for official in officials],
                       answered_counter(officials))
    share = max_share if max_share is not None else max(3, len(learners) // 10)
    pairs = []
    for official in officials:
        everyone = [Answers(learner.learner, official.name,
                            answers_of(official, learner.notebooks[official.name]))
                    for learner in learners if official.name in learner.notebooks]
        pairs += find_pairs(everyone, official, share, threshold, min_shared)
    return {"method": f"winnowed {K}-token fingerprints, window {W} (MOSS)",
            "learners": len(learners), "max_share": share, "threshold": threshold,
            "min_shared": min_shared, "pairs": pairs}


def html(document: dict) -> str:
    intro = (f"{html_text(document['learners'])} learners; method: "
             f"{html_text(document['method'])}; code that more than "
             f"{html_text(document['max_share'])} learners share is ignored; a pair is listed "
             f"when at least {html_text(document['threshold'])} of the smaller answer's "
             "fingerprints are shared. <strong>This list changes no grade.</strong> Alike "
             "answers are a question to ask, not a verdict: read the cells.")
    body = [f"<p>{intro}</p>"]
    if not document["pairs"]:
        body.append("<p>No pair is above the threshold.</p>")
    for number, pair in enumerate(document["pairs"], start=1):
        body.append(f"<h2>{number}. {html_text(pair['a'])} and {html_text(pair['b'])}: "
                    f"{html_text(pair['notebook'])}, {round(100 * pair['score'])}% "
                    f"({html_text(pair['shared'])} fingerprints)</h2>")
        body.append(f"<table><tr><th scope='col'>{html_text(pair['a'])}</th>"
                    f"<th scope='col'>{html_text(pair['b'])}</th></tr>")
        for cell in pair["cells"]:
            body.append(f"<tr><td><pre>{html_text(cell['a'])}</pre></td>"
                        f"<td><pre>{html_text(cell['b'])}</pre></td></tr>")
        body.append("</table>")
    return page("Answers to review: learners whose answers are unusually alike", body)


def write(document: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    safe = json.loads(json.dumps(document, default=printable))
    for pair in safe["pairs"]:
        pair["a"], pair["b"] = printable(pair["a"]), printable(pair["b"])
        for cell in pair["cells"]:
            cell["a"], cell["b"] = printable(cell["a"]), printable(cell["b"])
    (out / "similarity.json").write_text(json.dumps(safe, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (out / "similarity.html").write_text(html(safe), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.grade.similarity",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("submissions", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--course", type=Path, default=ROOT)
    parser.add_argument("--notebook", action="append", default=None)
    parser.add_argument("--max-share", type=int, default=None,
                        help="ignore code more learners than this share (default: a tenth of "
                        "the class, at least 3)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--min-shared", type=int, default=8)
    args = parser.parse_args(argv)
    try:
        document = run(args.submissions, args.course, args.notebook, args.max_share,
                       args.threshold, args.min_shared)
    except NoLearners as error:
        print(f"similarity: {error}", file=sys.stderr)
        return 2
    write(document, args.out)
    print(f"similarity: {len(document['pairs'])} pair(s) to review in {args.out}/similarity.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
