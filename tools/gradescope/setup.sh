#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu image, with autograder.zip unpacked in
# /autograder/source. It installs the grader's pinned environment; nothing else is needed.
set -euo pipefail
cd "$(dirname "$0")"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3.11 python3.11-venv bubblewrap
python3.11 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
# Only what grading needs, at the course's own pins; CPU-only PyTorch (no GPU there, and the
# CUDA build is several GB).
grep -E '^(numpy|torch|matplotlib|nbformat|pyyaml|triton)==' requirements.txt > requirements-grader.txt
.venv/bin/python -m pip install --quiet --extra-index-url https://download.pytorch.org/whl/cpu \
    -r requirements-grader.txt
