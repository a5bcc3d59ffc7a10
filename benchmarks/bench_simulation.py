"""Simulation speed and fidelity: integrator settings against CVode on the same inputs, in one run.

For one NMDA input pattern (default: the reference inputs `nmda_cvode_1` from ../shared/reference,
else inputs drawn with the paper's generator) this prints, per setting, the CPU seconds per
simulated second, the speed-up over CVode measured in the same run, and the agreement with the
CVode output (output spike count, largest time difference of paired spikes, RMS of the soma voltage
clipped at -55 mV; neuron_as_dnn.fidelity). It also prints the time to build the cell with its 1278
synapses and, with --workers-check, the speed-up of 2 dataset workers over 1. benchmarks/fidelity.py
measures the agreement of the default setting on many random inputs.

    python benchmarks/bench_simulation.py --workers-check      # the README table, 6 s (about 10 min)
    python benchmarks/bench_simulation.py --duration-ms 2000 --settings cvode fixed_0.1
"""
import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neuron_as_dnn import dataset_generation  # noqa: E402
from neuron_as_dnn.cell import L5PC, SynapseSet  # noqa: E402
from neuron_as_dnn.fidelity import compare_to_reference, events_before  # noqa: E402
from neuron_as_dnn.paths import REPO_ROOT  # noqa: E402
from neuron_as_dnn.simulation import RunSettings, Simulator, load_replay_inputs  # noqa: E402

EXACT = dict(rate_tables=False)  # the original's arithmetic: rates computed, not tabulated
NRN = dict(engine="neuron")
SETTINGS = {
    "cvode": RunSettings(integrator="cvode", **EXACT),
    "fixed_0.025_exact": RunSettings(dt_ms=0.025, secondorder=0, **EXACT, **NRN),
    "fixed_0.025": RunSettings(dt_ms=0.025, secondorder=0, **NRN),
    "fixed_0.05": RunSettings(dt_ms=0.05, secondorder=0, **NRN),
    "fixed_0.05_CN": RunSettings(dt_ms=0.05, secondorder=2, **NRN),
    "fixed_0.0625_CN": RunSettings(dt_ms=0.0625, secondorder=2, **NRN),
    "fixed_0.0625_CN_DVTs": RunSettings(dt_ms=0.0625, secondorder=2, record_dendrites=True, **NRN),
    "default: fixed_0.0625_CN_coreneuron": RunSettings(dt_ms=0.0625, secondorder=2, engine="coreneuron"),
    "default: fixed_0.0625_CN_coreneuron_DVTs": RunSettings(dt_ms=0.0625, secondorder=2, engine="coreneuron",
                                                            record_dendrites=True),
    "fixed_0.1": RunSettings(dt_ms=0.1, secondorder=0, **NRN),
    "fixed_0.1_CN": RunSettings(dt_ms=0.1, secondorder=2, **NRN),
}
DEFAULT_SELECTION = ["cvode", "fixed_0.025_exact", "fixed_0.025", "fixed_0.05_CN", "fixed_0.0625_CN",
                     "fixed_0.0625_CN_DVTs", "default: fixed_0.0625_CN_coreneuron",
                     "default: fixed_0.0625_CN_coreneuron_DVTs"]
REFERENCE_INPUTS = REPO_ROOT.parent / "shared" / "reference" / "nmda_cvode_1.npz"


def load_inputs(path):
    if path and Path(path).is_file():
        data = load_replay_inputs(path)
        return {k: data[k] for k in ("ex_seg", "ex_ms", "inh_seg", "inh_ms")}, str(path)
    config = dataset_generation.resolve_config(dict(
        _script_params(), seed=11, out_dir=tempfile.gettempdir(), num_simulations=1))
    table = L5PC().segment_table()
    pattern = dataset_generation.generate_inputs(config, table["length_um"], table["type"], 0)
    return pattern.events(), "generated (seed 11)"


def _script_params():
    import simulate_L5PC_and_create_dataset as script
    return dict(script.PARAMS)


def measure_workers(duration_sec: int) -> tuple[float, float]:
    """Wall time of the same 4 short simulations with 1 and with 2 workers."""
    times = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            config = dataset_generation.resolve_config(dict(
                _script_params(), num_simulations=4, duration_sec=duration_sec, seed=3, out_dir=out,
                workers=workers, dvt=False))
            start = time.perf_counter()
            dataset_generation.generate_dataset(config)
            times.append(time.perf_counter() - start)
    return times[0], times[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", default=str(REFERENCE_INPUTS), help="replay-format .npz with the input events")
    parser.add_argument("--duration-ms", type=int, default=6000)
    parser.add_argument("--settings", nargs="+", default=DEFAULT_SELECTION, choices=list(SETTINGS))
    parser.add_argument("--workers-check", action="store_true", help="also time 2 workers against 1")
    args = parser.parse_args()

    inputs, source = load_inputs(args.inputs)
    events = events_before([inputs[k] for k in ("ex_seg", "ex_ms", "inh_seg", "inh_ms")], args.duration_ms)
    print(f"inputs: {source}; {events[1].size} excitatory + {events[3].size} inhibitory events, "
          f"{args.duration_ms} ms; one process, CPU time per run")

    cpu0, wall0 = time.process_time(), time.perf_counter()
    cell = L5PC()
    SynapseSet(cell, "NMDA", "GABA_A")
    print(f"build cell + 1278 synapses: {time.perf_counter() - wall0:.2f} s wall, "
          f"{time.process_time() - cpu0:.2f} s CPU")
    del cell

    settings = ["cvode"] + [s for s in args.settings if s != "cvode"]
    results = {}
    simulator = None
    for name in settings:
        spec = dataclasses.replace(SETTINGS[name], duration_ms=args.duration_ms)
        if simulator is None:
            simulator = Simulator("NMDA", "GABA_A", settings=spec)
        simulator.settings = spec
        results[name] = simulator.run(*events)
        print(f"  ran {name}: {results[name].cpu_seconds:.1f} s CPU", flush=True)

    reference = results["cvode"]
    seconds = args.duration_ms / 1000
    print()
    print("| setting | CPU s per simulated s | wall s | speed-up vs CVode (CPU) | output spikes "
          "| max spike shift (ms) | soma RMS vs CVode (mV, clipped at -55) |")
    print("|---|---|---|---|---|---|---|")
    for name, result in results.items():
        match = compare_to_reference(result, reference)
        print(f"| {name} | {result.cpu_seconds / seconds:.2f} | {result.wall_seconds:.1f} "
              f"| {reference.cpu_seconds / result.cpu_seconds:.2f}x "
              f"| {match.spikes} | {match.max_shift_ms:.3f} | {match.rms_mV:.3f} |")
    if args.workers_check:
        one, two = measure_workers(2)
        print(f"\n4 simulations of 2 s (default settings): 1 worker {one:.1f} s, 2 workers {two:.1f} s wall, "
              f"speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
