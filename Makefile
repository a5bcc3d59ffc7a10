# make setup  : virtual environment (.venv), pinned packages, compiled NMODL mechanisms
# make test   : the test suite (parallel, about 5 minutes on 2 cores)
# make demo   : sets everything up and runs the pipeline on a small embedded default
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ARCH := $(shell uname -m)
MECH_DIR := L5PC_NEURON_simulation
MODS := $(wildcard $(MECH_DIR)/mechanisms/*.mod)
MECH_LIB := $(MECH_DIR)/$(ARCH)/libnrnmech.so
PYTEST_WORKERS ?= 2

.PHONY: setup setup-backends test test-all demo figure1 morphology mechanisms clean authors-data

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

# the pipeline on a small embedded default: two 6-s simulations and their figures, a small network trained on
# them for two schedule epochs, evaluated on them and drawn as Fig. 2 (a smoke run of every stage, not a fit)
demo: setup morphology
	$(PY) simulate_L5PC_and_create_dataset.py --demo
	$(PY) dataset_exploration.py --data-dir data/demo --out-dir figures/demo
	rm -rf models/demo
	$(PY) fit_CNN.py --train-data-dir data/demo --valid-data-dir data/demo --out-dir models/demo \
	  --num-simulations-per-file 2 --duration-sec 6 --architecture-preset custom \
	  --filter-sizes-per-layer 35 19 --num-filters-per-layer 16 --num-dvt-components 5 \
	  --schedule-stage-epochs 2 --schedule-learning-rates 0.001 --schedule-spike-loss-weights 1 \
	  --schedule-somatic-loss-weights 0.02 --schedule-dendritic-loss-weights 0.00001 \
	  --num-steps-multiplier 2 --checkpoint-val-spike-loss-threshold 10 --seed 1
	$(PY) evaluate_CNN_test.py --models-dir models/demo --data-dir data/demo --num-subsets 0
	$(PY) main_figure_replication.py --model-dir models/demo --out-dir figures/demo

# Fig. 1 (integrate-and-fire) on its small default, about 3 minutes, into figures/IF/ (the I&F needs no NEURON
# mechanisms); ARGS="--redraw" draws the figures again from the saved run in seconds, ARGS="--paper-scale" the paper's run
figure1: $(VENV)/.installed
	$(PY) integrate_and_fire_figure_replication.py $(ARGS)

clean:
	rm -rf $(MECH_DIR)/$(ARCH) .pytest_cache

# the authors' Kaggle data and pretrained models (kagglehub or the kaggle tool; about 115 GB), linked into
# data/L5PC_NMDA_{train,valid,test}/ and models/best_models/ (ARGS="--source-dirs A B" arranges a manual download)
authors-data: $(VENV)/.installed
	$(PY) -m neuron_as_dnn.authors_data $(ARGS)
