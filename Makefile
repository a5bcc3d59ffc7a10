# make setup  : virtual environment (.venv), pinned packages, compiled NMODL mechanisms
# make test   : the test suite (parallel, about 10 minutes on 2 cores; reads nothing outside the checkout)
# make demo   : sets everything up and runs the pipeline end to end on a small scale, with the shipped network
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARCH := $(shell uname -m)
MECH_DIR := L5PC_NEURON_simulation
MODS := $(wildcard $(MECH_DIR)/mechanisms/*.mod)
MECH_LIB := $(MECH_DIR)/$(ARCH)/libnrnmech.so
PYTEST_WORKERS ?= 2

.PHONY: setup setup-backends test test-all demo campaign figure1 morphology mechanisms clean authors-data FORCE

setup: $(VENV)/.installed $(MECH_LIB)

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

# optional: the JAX and PyTorch backends of Keras (README, "Install": CPU-only and CUDA builds); their tests skip without them
setup-backends: $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-backends.txt

mechanisms: $(MECH_LIB)

# Compiler flags of the mechanisms: 1.7x faster simulations than nrnivmodl's -O2, identical spikes and
# within 6e-3 mV (docs/speed.md). The library runs only on CPUs like the one it was built on: for a
# cluster of mixed machines build with MECH_FLAGS="-O3 -ffast-math"; MECH_FLAGS= gives nrnivmodl's default.
MECH_FLAGS ?= -O3 -march=native -ffast-math
MECH_FLAGS_STAMP := $(MECH_DIR)/.mechanism_flags

$(MECH_FLAGS_STAMP): FORCE
	@echo '$(MECH_FLAGS)' | cmp -s - $@ || echo '$(MECH_FLAGS)' > $@

$(MECH_LIB): $(MODS) $(VENV)/.installed $(MECH_FLAGS_STAMP)
	rm -rf $(MECH_DIR)/$(ARCH)
	cd $(MECH_DIR) && ../$(VENV)/bin/nrnivmodl -coreneuron -incflags "$(MECH_FLAGS)" mechanisms
	test -f $@

FORCE:

# verifies the shipped L5PC_NEURON_simulation/morphologies/cell1.asc (SHA-256); if it was deleted, downloads it again
morphology: $(VENV)/.installed
	$(PY) -m neuron_as_dnn.simulation.morphology

test: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow"

test-all: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

# the pipeline end to end on a small scale (neuron_as_dnn/demo.py; about 5 minutes on 2 cores once set up):
# Fig. 1, a fresh NMDA test set and a small training set, their exploration, the shipped network of
# pretrained/ evaluated on the fresh test set and drawn as Fig. 2, a short training run; finished stages are
# skipped on a rerun; outputs in data/demo/, models/demo/, figures/demo/
demo: setup morphology
	$(PY) -m neuron_as_dnn.demo

# the paper's finding (Figs. 3 and S5: NMDA synapses make the cell deep, AMPA synapses do not) at CPU scale
# (neuron_as_dnn/campaign.py; docs/depth.md): NMDA and AMPA datasets, a grid of depths per type, validation,
# test, tables and figures; about 2 h 10 min on 2 cores; finished steps are skipped on a rerun;
# ARGS="--jobs 2" runs two grid points at a time, ARGS="--list" prints the grid; outputs in
# data/campaign/cpu/, models/campaign/cpu/, figures/campaign/cpu/
campaign: setup morphology
	$(PY) -m neuron_as_dnn.campaign $(ARGS)

# Fig. 1 (integrate-and-fire) on its small default, about 3 minutes, into figures/IF/ (the I&F needs no NEURON
# mechanisms); ARGS="--redraw" draws the figures again from the saved run in seconds, ARGS="--paper-scale" the paper's run
figure1: $(VENV)/.installed
	$(PY) integrate_and_fire_figure_replication.py $(ARGS)

clean:
	rm -rf $(MECH_DIR)/$(ARCH) .pytest_cache

# the authors' Kaggle data and pretrained models (kagglehub or the kaggle tool; about 115 GB), linked into
# data/L5PC_NMDA_{train,valid,test}/ and models/best_models/ (ARGS="--source-dirs A B" arranges a manual download)
authors-data: $(VENV)/.installed
	$(PY) -m neuron_as_dnn.data.authors_data $(ARGS)
