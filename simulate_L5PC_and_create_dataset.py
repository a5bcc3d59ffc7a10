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

from neuron_as_dnn import cli
from neuron_as_dnn.data import dataset_generation

PARAMS = dict(
    # what to simulate
    num_simulations=128,  # simulations in the dataset file, each with its own random input pattern
    duration_sec=6,  # length of every simulation (s, a whole number)
    dvt=True,  # record and save the voltage of all 639 dendritic segments at 1 ms (about 1 GB per 128 x 6 s);
               # --no-dvt: soma and nexus only (with --replay, dendrites only when --dvt is given)
    synapse_type="NMDA",  # dataset preset: NMDA | AMPA | AMPA_SK (synapse, rate ranges and SK_E2 factor together;
                          # also names the default output folder)
    excitatory_synapse_type=None,  # NMDA | AMPA; None: from the preset (NMDA, or AMPA for AMPA and AMPA_SK)
    inhibitory_synapse_type="GABA_A",  # GABA_A | GABA_B
    ske2_mult_factor=None,  # multiplies the SK_E2 conductance of soma, axon and apical tree; None: from the preset
                            # (1.0; 0.1 for AMPA_SK)
    ih_vshift=0.0,  # shift of the Ih channel's voltage dependence (its vshift) in the soma and all dendrites (mV)
    active_dendrites=True,  # active channels in the dendrites; --no-active-dendrites: only the passive leak
    celsius=6.3,  # temperature (°C); NEURON's default, which the original never changed (only eca depends on it)
    # input statistics (None: from the preset); spike counts per 100 ms for a whole tree
    bas_ex_range=None,  # low high: excitatory spike count per 100 ms over the basal tree, uniform per interval
    bas_inh_diff_range=None,  # low high: inhibitory minus excitatory count per 100 ms over the basal tree
    apic_ex_range=None,  # low high: excitatory spike count per 100 ms over the apical tree, uniform per interval
    apic_inh_diff_range=None,  # low high: inhibitory minus excitatory count per 100 ms over the apical tree
    interval_options_ms=[25, 30, 35, 40, 45, 55, 60, 65, 70, 75, 80, 85, 90, 100, 150, 200, 300, 450],
                        # lengths of the intervals of constant input rate (ms); one is drawn per simulation
    interval_jitter_ms=20,  # the drawn interval is shifted by int(U(-j, j)) ms (0: no jitter)
    sigma_options_ms=[25, 30, 35, 40, 50, 60, 80, 100, 150, 200, 300, 400, 500, 600],
                     # widths σ of the Gaussian that smooths the input rates in time (ms); one is drawn per simulation
    sigma_jitter_ms=20,  # the drawn σ is shifted by int(U(-j, j)) ms (0: no jitter)
    min_seg_length_um=10.0,  # added to every segment's length when a tree's spike count is shared among its
                             # segments in proportion to length (µm)
    # how to integrate (defaults: 6x less CPU than the original's CVode at matching output, see README)
    integrator="fixed",  # fixed (step dt_ms) | cvode (the original's variable step, slower)
    dt_ms=0.0625,  # fixed step (ms; must divide 1 ms); the original CVode run is matched by 0.025 ms backward Euler
                   # to 0.15 mV, by this to 0.14 mV
    secondorder=2,  # NEURON's fixed-step method: 2 Crank-Nicolson, 0 backward Euler (1 also accepted; CVode uses 0)
    rate_tables=True,  # tabulated channel rates (~1e-4 mV from exact, 1.2x faster); --no-rate-tables: exact rates
    v_init_mV=-76.0,  # initial membrane voltage of every compartment (mV)
    engine="auto",  # auto | neuron | coreneuron (identical numbers; auto: CoreNEURON for fixed steps when compiled)
    # bookkeeping
    seed=None,  # seed of the inputs (simulation i draws from (seed, i)); None: a random seed, recorded in the file
                # name and Params
    split="train",  # train | valid | test: the default folder data/L5PC_<TYPE>_<split>/
    out_dir=None,  # folder of the dataset file; None: data/L5PC_<TYPE>_<split>/ (data/demo/ with --demo)
    workers=1,  # local worker processes; under mpiexec every rank runs this many
    morphology=None,  # path of cell1.asc; None: $L5PC_MORPHOLOGY or the downloaded copy
    # replay one input pattern instead (format of tests/data/reference/README.md)
    replay=None,  # simulate the input pattern of this .npz instead of generating a dataset (the file's synapse
                  # type and integrator apply unless --synapse-type, --integrator or --dt-ms are given)
    replay_output=None,  # where --replay writes its result (.npz); None: nothing is written
    demo=False,  # two simulations (seed 1 unless given, at least 2 workers) into data/demo/ and a figure of the one
                 # with most output spikes in figures/demo/
    progress=True,  # show a progress bar over the simulations
    log_level="INFO",  # logging level: DEBUG | INFO | WARNING | ERROR
)



def demo_defaults(params: dict) -> None:
    """--demo: two simulations (seed 1 unless given) with at least 2 workers into data/demo/."""
    if params["demo"]:
        from neuron_as_dnn.paths import DATA_DIR
        params.update(num_simulations=2, out_dir=params["out_dir"] or str(DATA_DIR / "demo"),
                      seed=1 if params["seed"] is None else params["seed"], workers=max(params["workers"], 2))


SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, defaults=demo_defaults,
                    presets={"synapse_type": dataset_generation.PRESETS},
                    types={"ske2_mult_factor": float},
                    nargs={key: 2 for key in dataset_generation.RANGE_KEYS},
                    checks={"out_dir": cli.writable_folder, "morphology": cli.existing_file,
                            "replay": cli.existing_file})


def run(params: dict):
    from neuron_as_dnn.simulation import simulator

    if params["replay"]:
        # the file's synapse type and integrator apply unless given on the command line
        simulator.replay(params["replay"], params["replay_output"],
                          **dataset_generation.replay_options(params, params.explicit))
        return None
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
