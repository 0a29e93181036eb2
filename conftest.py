"""Root pytest configuration: load the grader for every run from this repository."""

pytest_plugins = ["tools.nbgrade"]
