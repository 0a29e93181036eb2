#!/usr/bin/env bash
# Gradescope runs this once, as root, on its Ubuntu image, with autograder.zip unpacked in
# /autograder/source. It installs the grader's pinned environment; nothing else is needed.
#
# Python: a released 3.11 managed by uv (Astral's python-build-standalone builds), not the
# image's apt package: Ubuntu 22.04's python3.11 is the 3.11.0 release candidate (3.11.0~rc1),
# and the deadsnakes PPA keeps only its newest build per release and has had container install
# failures on 22.04 (deadsnakes/issues#323). uv's build is the same on any Ubuntu base image
# Gradescope offers, is checksum-verified on download, and is installed under /opt (readable by
# the unprivileged user the judge's setpriv fallback runs learner code as; /root is not).
# The check below stops the build if anything but a final 3.11 release was installed.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive
UV_VERSION=0.13.8
apt-get update -qq
apt-get install -y -qq curl ca-certificates bubblewrap
curl -LsSf "https://astral.sh/uv/${UV_VERSION}/install.sh" | env UV_INSTALL_DIR=/usr/local/bin UV_NO_MODIFY_PATH=1 sh
export UV_PYTHON_INSTALL_DIR=/opt/python
uv python install 3.11
uv venv --python 3.11 --seed .venv
.venv/bin/python -c 'import sys; v = sys.version_info; assert v[:2] == (3, 11) and v.releaselevel == "final", sys.version; print("Python", sys.version.split()[0])'
chmod -R a+rX /opt/python
# Only what grading needs, at the course's own pins; CPU-only PyTorch (no GPU there, and the
# CUDA build is several GB).
grep -E '^(numpy|torch|matplotlib|nbformat|pyyaml|triton)==' requirements.txt > requirements-grader.txt
.venv/bin/python -m pip install --quiet --extra-index-url https://download.pytorch.org/whl/cpu \
    -r requirements-grader.txt
