# Attention from Scratch: two commands do all the set-up on a fresh machine.
#   make book   builds the site into _build/html (creating .venv first)
#   make test   runs every test (building the site first if it is out of date)
#   make check  the inner loop, a few minutes: lint, generated files in sync, the fast tests and
#               one chapter through both graders

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# EDITION=student leaves the worked solutions out of the site (for a class's published copy);
# the default, instructor, keeps them. The student edition is written to _build/student/_build/html.
EDITION ?= instructor
export EDITION
# Touched only after a build with zero warnings, so a failed build is never taken for a good one.
# EXECUTED: the notebooks the build executes (exercises/ is shown as shipped, unexecuted).
ifeq ($(EDITION),student)
SITE := _build/student/.book-ok
BOOK_OUTPUT := --path-output _build/student
HTML_DIR := _build/student/_build/html
EXECUTED := $(wildcard chapters/*.ipynb)
else
SITE := _build/.book-ok
BOOK_OUTPUT :=
HTML_DIR := _build/html
EXECUTED := $(wildcard chapters/*.ipynb solutions/*.ipynb)
endif
# The build's jupyter-cache, next to its html folder.
BOOK_CACHE := $(dir $(HTML_DIR)).jupyter_cache
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BOOK_SOURCES := $(wildcard *.md chapters/*.ipynb solutions/*.ipynb exercises/*.ipynb _static/* _ext/* _templates/*) \
	_config.yml _toc.yml references.bib $(wildcard colab/*/*.ipynb)

.PHONY: book test check lint exercises check-exercises colab check-colab self-check grade grade-class gradescope template env browser-deps grader-deps clean help

help:
	@echo "make book   build the course website into _build/html (EDITION=student: without solutions)"
	@echo "make test   run every test (lint, exercises in sync, notebooks, grader, mutants, browser)"
	@echo "make check  the fast tests and one chapter through both graders (CHECK_CHAPTER=NN_x.ipynb)"
	@echo "make self-check  self-check your exercises: pytest --nbval-lax exercises/"
	@echo "make grade-class SUBMISSIONS=dir OUT=dir  (instructors) grade a class with the judge"
	@echo "                 [NOTEBOOKS='01_self_attention.ipynb ...'] [ROSTER=roster.csv] [JOBS=2]"
	@echo "make gradescope [NOTEBOOKS=...] [FRESH_VISIBILITY=after_due_date]  a Gradescope bundle"
	@echo "make template OUT=dir  the learners' template: exercises, self-check, workflow; no solution"

env: $(STAMP)

# pip byte-compiles what it installs on one core (17 s of the 40); compileall uses every core.
# Its exit status is ignored: as with pip's own pass, a file that does not compile (a test
# fixture of some package) is left as it is.
$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.txt
	-$(BIN)/python -m compileall -qq -j 0 $(VENV)/lib
	@touch $@

# nbgrader, for the interoperability test and for instructors who grade on JupyterHub.
INSTRUCTORS := $(VENV)/.instructors
$(INSTRUCTORS): $(STAMP) requirements-instructors.txt
	$(BIN)/python -m pip install --quiet -r requirements-instructors.txt
	@touch $@

book: $(SITE)
	@echo "The book is built: open $(CURDIR)/$(HTML_DIR)/index.html in a browser."

# --all: Sphinx skips its output phase when no page changed, so a change to _static/ or _ext/
# alone would leave the site stale; executed notebooks come from the jupyter-cache either way.
# tools/execute_book.py first runs the notebooks the cache lacks on every core (the build runs
# them one at a time); the build still runs, and fails on, any that failed there.
$(SITE): $(STAMP) $(BOOK_SOURCES)
	@rm -f $@
	@# A new environment (requirements changed) executes every notebook again: the cache keys on
	@# the code cells alone, so it would otherwise keep outputs of the libraries it replaced.
	@[ ! -f $(BOOK_CACHE)/global.db ] || [ $(BOOK_CACHE)/global.db -nt $(STAMP) ] || rm -rf $(BOOK_CACHE)
	$(if $(filter off,$(EDITION_EXECUTE)),,$(BIN)/python -m tools.execute_book $(BOOK_CACHE) $(EXECUTED))
	$(BIN)/jupyter-book build . $(BOOK_OUTPUT) --all -W -n --keep-going
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

# Notebook code must fit the site's code box: 84 characters (the print and phone layouts wrap
# or scroll beyond that). A separate pass, so the rest of the code keeps ruff's default.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff check --select E501 --line-length 84 chapters/ solutions/

exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py
	$(BIN)/python -m tools.classroom write
	$(BIN)/python tools/make_colab.py

check-exercises: $(STAMP)
	$(BIN)/python tools/make_exercises.py --check
	$(BIN)/python -m tools.classroom check

# Colab/Binder-ready copies (plain Markdown, no MyST) of every notebook: what the launch
# buttons open. Run after `make exercises`; tests/test_render.py checks them.
colab: $(STAMP) exercises
	$(BIN)/python tools/make_colab.py

check-colab: $(STAMP)
	$(BIN)/python tools/make_colab.py --check
	$(BIN)/python tools/make_architecture.py --check

# Two workers, each of whose processes computes on one thread: PyTorch's and OpenBLAS's pools
# would start a second thread in every kernel, judge and worker, whose waits spin on the cores
# the other worker needs (test_judge_chapters.py with two contract files alone: 149 -> 132 s of
# CPU). The chapters' timings set their own threads; the judge's runners run on one already.
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# No notebook of chapters/ or solutions/ runs again under nbval here. The strict book build has
# just executed every one of them, and a failing cell fails it (tests/test_book.py proves both);
# tests/test_judge_chapters.py runs each solution through nbval with the self-check plugin (a
# failing graded check raises there) and through the judge. `pytest chapters solutions` still
# runs them as notebooks, and conftest.py makes a failing graded check fail its cell there too.
test: $(STAMP) $(INSTRUCTORS) browser-deps grader-deps $(SITE) lint check-exercises check-colab
	$(ONE_THREAD) $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -p no:tools.nbgrade tests

# The inner loop, a fraction of `make test`'s work: what `make test` checks first, the tests that
# run no notebook, and one chapter (CHECK_CHAPTER) through the judge and the self-check
# (tests/test_judge_chapters.py on a folder holding only that solution). `make test` before a merge.
# Chapter 2: its from-scratch attacks are 11 notebooks (chapter 1 has 33), so it grades in a third of the time.
CHECK_CHAPTER ?= 02_cross_attention.ipynb
CHECK_TESTS := $(addprefix tests/,test_conventions.py test_copies.py test_contract_helpers.py \
	test_exercises.py test_exercise_page.py test_project.py test_render.py test_reading_time.py \
	test_binder.py test_gradebook.py test_class_report.py test_collect.py test_judge_units.py \
	test_harness_rules.py $(notdir $(wildcard tests/test_contract_0*.py)))
# What check-exercises and check-colab have just checked, and the Triton launcher's contract in
# a child process of its own (half a minute of Triton's interpreter; `make test` runs it).
CHECK_SKIP := --deselect tests/test_exercises.py::test_exercises_are_in_sync \
	--deselect tests/test_render.py::test_colab_copies_are_up_to_date \
	--deselect tests/test_contract_06.py::test_triton_launcher_contract_in_a_fresh_process
check: $(STAMP) grader-deps lint check-exercises check-colab
	@one=$$(mktemp -d) && cp solutions/$(CHECK_CHAPTER) "$$one"/ && \
	JUDGE_SOLUTIONS="$$one" $(ONE_THREAD) $(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder -p no:tools.nbgrade \
		$(CHECK_TESTS) tests/test_judge_chapters.py $(CHECK_SKIP); status=$$?; rm -rf "$$one"; exit $$status

# Gradescope autograder, one bundle per assignment: upload the zip it names as the assignment's
# autograder. NOTEBOOKS picks the notebooks it grades (default: all); FRESH_VISIBILITY (visible,
# after_due_date, after_published, hidden) when learners see the checks on fresh inputs.
NOTEBOOKS ?=
FRESH_VISIBILITY ?= visible
gradescope: $(STAMP)
	$(BIN)/python -m tools.gradescope --build $(foreach n,$(NOTEBOOKS),--notebook $(n)) --fresh-visibility $(FRESH_VISIBILITY)

# The learners' template (exercises, the self-check and its workflow; no solution anywhere).
template: $(STAMP)
	@[ -n "$(OUT)" ] || { echo "usage: make template OUT=dir"; exit 2; }
	$(BIN)/python -m tools.template "$(OUT)"

# The learner's self-check of every exercise (tools/nbgrade.py): feedback, not the official grade.
self-check: $(STAMP)
	$(BIN)/pytest --nbval-lax exercises/

# The old name: "grade" also names the judge (python -m tools.grade), which this is not.
grade:
	@echo "make grade is now called make self-check (the official grade is the judge's: make grade-class)"
	@$(MAKE) --no-print-directory self-check

# Instructors: grade a folder of submissions (one folder per learner, e.g. from
# `python -m tools.clone_class`, or an LMS's download) with the judge; then the gradebooks
# (ROSTER: your LMS's export), the similarity list and the class report. GRADE_ARGS passes more
# options to the judge (e.g. --shard 1/4, --learner NAME, --seed S).
JOBS ?= 2
ROSTER ?=
GRADE_ARGS ?=
grade-class: $(STAMP) grader-deps
	@[ -n "$(SUBMISSIONS)" ] && [ -n "$(OUT)" ] || { echo "usage: make grade-class SUBMISSIONS=dir OUT=dir [NOTEBOOKS=...] [ROSTER=file] [JOBS=2]"; exit 2; }
	$(BIN)/python -m tools.grade "$(SUBMISSIONS)" --out "$(OUT)" --jobs $(JOBS) $(foreach n,$(NOTEBOOKS),--notebook $(n)) $(GRADE_ARGS)
	$(BIN)/python -m tools.gradebook "$(OUT)/grades.csv" $(if $(ROSTER),--roster "$(ROSTER)")
	$(BIN)/python -m tools.grade.similarity "$(SUBMISSIONS)" --out "$(OUT)" $(foreach n,$(NOTEBOOKS),--notebook $(n))
	$(BIN)/python -m tools.grade.class_report "$(OUT)"

clean:
	rm -rf _build grading-report.json
