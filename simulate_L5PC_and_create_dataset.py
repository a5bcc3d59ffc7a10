"""Simulate the layer-5 pyramidal cell under random synaptic input and write a dataset file.

Each file holds `num_simulations` simulations of `duration_sec` seconds in the authors' format
(readable by any reader of their Kaggle data). Edit the parameter block below or override any
entry from the command line (`--help` lists them all). Examples:

    python simulate_L5PC_and_create_dataset.py --num-simulations 128 --seed 42 --split train --workers 2
    mpiexec -n 8 python simulate_L5PC_and_create_dataset.py --seed 43 --split valid
    python simulate_L5PC_and_create_dataset.py --synapse-type AMPA_SK --no-dvt
    python simulate_L5PC_and_create_dataset.py --replay inputs.npz --replay-output out.npz
    python simulate_L5PC_and_create_dataset.py --demo   # two short simulations and a figure

An interrupted run resumes when rerun with the same parameters (finished simulations are kept in a
work folder beside the output until the file is written).
"""
import logging

from neuron_as_dnn import cli, dataset_generation

PARAMS = dict(
    # what to simulate
    num_simulations=128,
    duration_sec=6,
    dvt=True,  # record and save the voltage of all 639 dendritic segments (about 1 GB per 128 x 6 s)
    synapse_type="NMDA",  # preset: NMDA | AMPA | AMPA_SK (synapse, rate ranges and SK_E2 factor together)
    excitatory_synapse_type=None,  # None: from the preset (NMDA or AMPA)
    inhibitory_synapse_type="GABA_A",  # GABA_A | GABA_B
    ske2_mult_factor=None,  # None: from the preset (1.0; 0.1 for AMPA_SK)
    ih_vshift=0.0,
    active_dendrites=True,  # False: dendrites keep only the passive leak
    celsius=6.3,  # NEURON's default, which the original never changed (only eca depends on it)
    # input statistics (None: from the preset); spike counts per 100 ms for a whole tree
    bas_ex_range=None,
    bas_inh_diff_range=None,
    apic_ex_range=None,
    apic_inh_diff_range=None,
    interval_options_ms=[25, 30, 35, 40, 45, 55, 60, 65, 70, 75, 80, 85, 90, 100, 150, 200, 300, 450],
    interval_jitter_ms=20,
    sigma_options_ms=[25, 30, 35, 40, 50, 60, 80, 100, 150, 200, 300, 400, 500, 600],
    sigma_jitter_ms=20,
    min_seg_length_um=10.0,
    # how to integrate (defaults: 6x less CPU than the original's CVode at matching output, see README)
    integrator="fixed",  # fixed | cvode (the original's setting, slower)
    dt_ms=0.0625,  # the original CVode run is matched by 0.025 ms backward Euler to 0.15 mV, by this to 0.14 mV
    secondorder=2,  # 2: Crank-Nicolson; 0: backward Euler
    rate_tables=True,  # tabulated channel rates (~1e-4 mV from exact, 1.2x faster)
    v_init_mV=-76.0,
    engine="auto",  # auto | neuron | coreneuron (identical numbers; auto: CoreNEURON for fixed steps)
    # bookkeeping
    seed=None,  # None: a random seed, recorded in the file name and Params
    split="train",  # train | valid | test: the default folder data/L5PC_<TYPE>_<split>/
    out_dir=None,  # None: data/L5PC_<TYPE>_<split>/ (data/demo/ with --demo)
    workers=1,  # local processes; under mpiexec every rank runs this many
    morphology=None,  # path of cell1.asc; None: $L5PC_MORPHOLOGY or the downloaded copy
    # replay one input pattern instead (format of shared/reference/README.md)
    replay=None,
    replay_output=None,
    demo=False,
    progress=True,
    log_level="INFO",
)

HELP = {
    "synapse_type": "dataset preset: NMDA, AMPA or AMPA_SK",
    "dvt": "record all dendritic voltage traces (--no-dvt: soma and nexus only)",
    "integrator": "fixed (step dt_ms) or cvode",
    "replay": "simulate the input pattern of this .npz instead of generating a dataset",
    "replay_output": "where --replay writes its result (.npz)",
    "demo": "two 6-s simulations into data/demo/ and a figure of the one with most output spikes in figures/demo/",
    "workers": "number of local worker processes",
}
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, help=HELP,
                    presets={"synapse_type": dataset_generation.PRESETS},
                    types={"ske2_mult_factor": float},
                    nargs={key: 2 for key in dataset_generation.RANGE_KEYS})


def run(params: dict):
    from neuron_as_dnn import simulation

    if params["replay"]:
        # the file's synapse type and integrator apply unless given on the command line
        simulation.replay(params["replay"], params["replay_output"],
                          **dataset_generation.replay_options(params, SCRIPT.explicit))
        return None
    if params["demo"]:
        from neuron_as_dnn.paths import DATA_DIR
        params.update(num_simulations=2, out_dir=params["out_dir"] or str(DATA_DIR / "demo"),
                      seed=params["seed"] if params["seed"] is not None else 1,
                      workers=max(params["workers"], 2))
    config = dataset_generation.resolve_config(params)
    path = dataset_generation.generate_dataset(config, progress=params["progress"])
    if path is not None and params["demo"]:
        import matplotlib
        matplotlib.use("Agg")  # this script only writes files
        from neuron_as_dnn.figures import simulation as simulation_figures
        from neuron_as_dnn.paths import FIGURES_DIR
        simulation_figures.plot_dataset_simulation(path, "most_spikes", FIGURES_DIR / "demo")
    if path is not None:
        logging.getLogger("simulate_L5PC").info("done: %s", path)
    return path


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
