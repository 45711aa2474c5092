# Two entry points: `make demo` (the main job) and `make test` (the checks).
# The demo installs the `rl` extra: its planning task runs PPO (stable-baselines3) beside perceive-plan.
# Both create .venv with whatever python3 is on PATH (3.10+), install torch 2.13.0 first
# (the CPU build; any other torch pulls gigabytes of CUDA packages), then the project.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0

venv: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[rl]"

demo: venv
	$(BIN)/hybrid compare --quick --out results
	@echo "open results/report.md"

test: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev,cluster,peers,rl]"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

clean:
	rm -rf $(VENV) results site
