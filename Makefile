# Attention from Scratch: two commands do all the set-up on a fresh machine.
#   make book   builds the site into _build/html (creating .venv first)
#   make test   runs every test (building the site first if it is out of date)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Touched only after a build with zero warnings, so a failed build is never taken for a good one.
SITE := _build/.book-ok
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BOOK_SOURCES := $(wildcard *.md chapters/*.ipynb solutions/*.ipynb exercises/*.ipynb _static/* _ext/* _templates/*) \
	_config.yml _toc.yml references.bib

.PHONY: book test lint exercises check-exercises grade grade-class env browser-deps grader-deps clean help

help:
	@echo "make book   build the course website into _build/html"
	@echo "make test   run every test (lint, exercises in sync, notebooks, grader, mutants, browser)"
	@echo "make grade  self-check your exercises: pytest --nbval-lax exercises/"
	@echo "make grade-class SUBMISSIONS=dir OUT=dir  the instructor's grader (python -m tools.grade)"

env: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

book: $(SITE)
	@echo "The book is built: open $(CURDIR)/_build/html/index.html in a browser."

$(SITE): $(STAMP) $(BOOK_SOURCES)
	@rm -f $@
	$(BIN)/jupyter-book build . -W -n --keep-going
	@touch $@

# The browser tests drive Debian's Chromium with Playwright and inject axe-core from npm.
# CHROMIUM names another Chromium-based browser (GitHub's runners: /usr/bin/google-chrome).
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM
browser-deps: node_modules/.installed
	@[ -x "$(CHROMIUM)" ] || { \
		echo "Installing Chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The instructor's grader runs learners' code in Debian's bubblewrap sandbox (tools/grade/sandbox.py).
grader-deps:
	@command -v bwrap >/dev/null || { \
		echo "Installing bubblewrap for the instructor's grader"; \
		$(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap; }

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

lint: $(STAMP)
	$(BIN)/ruff check .

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py

check-exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py --check

test: $(STAMP) browser-deps grader-deps $(SITE) lint check-exercises
	$(BIN)/pytest -n 2 --dist loadfile -p no:tools.nbgrade

grade: $(STAMP)
	$(BIN)/pytest --nbval-lax exercises/

JOBS ?= 2
grade-class: $(STAMP) grader-deps
	@[ -n "$(SUBMISSIONS)" ] && [ -n "$(OUT)" ] || { echo "usage: make grade-class SUBMISSIONS=dir OUT=dir [JOBS=2]"; exit 2; }
	$(BIN)/python -m tools.grade "$(SUBMISSIONS)" --out "$(OUT)" --jobs $(JOBS)

clean:
	rm -rf _build grading-report.json
