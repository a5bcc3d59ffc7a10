# make setup  : virtual environment (.venv), pinned packages, compiled NMODL mechanisms
# make test   : the test suite (parallel, about 10 minutes on 2 cores)
# make demo   : sets everything up and runs the pipeline on a small embedded default
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARCH := $(shell uname -m)
MECH_DIR := L5PC_NEURON_simulation
MODS := $(wildcard $(MECH_DIR)/mechanisms/*.mod)
MECH_LIB := $(MECH_DIR)/$(ARCH)/libnrnmech.so
PYTEST_WORKERS ?= 2

.PHONY: setup setup-backends test test-all demo morphology mechanisms clean

setup: $(VENV)/.installed $(MECH_LIB)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# optional: the JAX and PyTorch (CPU) backends of Keras; their tests skip without them
setup-backends: $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-backends.txt

mechanisms: $(MECH_LIB)

$(MECH_LIB): $(MODS) $(VENV)/.installed
	rm -rf $(MECH_DIR)/$(ARCH)
	cd $(MECH_DIR) && ../$(VENV)/bin/nrnivmodl -coreneuron mechanisms
	test -f $@

morphology: $(VENV)/.installed
	$(PY) -m neuron_as_dnn.morphology

test: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow"

test-all: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

demo: setup morphology
	$(PY) simulate_L5PC_and_create_dataset.py --demo

clean:
	rm -rf $(MECH_DIR)/$(ARCH) .pytest_cache
