"""Simulation speed and fidelity in one run: CVode, the old default and the new default on the same inputs.

Every setting simulates the same NMDA inputs: the reference inputs `nmda_cvode_1` of tests/data/reference
and --num-random-inputs patterns drawn by the dataset generator (simulations 0, 1, ... of
`simulate_L5PC_and_create_dataset.py --seed 1`, as benchmarks/fidelity.py draws them). Printed per
setting: CPU seconds per simulated second, the speed-up over CVode (total CPU over all inputs), and the
agreement with CVode on each input (neuron_as_dnn.simulation.fidelity: spike count ±1, soma RMS clipped at -55 mV
< 0.5 mV, paired spikes within 2 ms). With --workers-check, also the wall time of 4 simulations with 1 and
with 2 dataset workers.

The settings run in this process on the mechanisms as `make setup` compiles them (-O3 -march=native
-ffast-math, the Makefile's MECH_FLAGS), except `old_default`: the default settings on the mechanisms
compiled with nrnivmodl's own flags (-O2), the project's default before those flags. It runs in a child
process (one NEURON process loads one mechanism library), built into a temporary folder unless
--old-build names a folder where `nrnivmodl -coreneuron mechanisms` ran with its default flags.

    python benchmarks/bench_simulation.py --workers-check          # the README table (about 12 min)
    python benchmarks/bench_simulation.py --num-random-inputs 0 --duration-ms 2000 --settings cvode default
"""
import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from neuron_as_dnn import paths
from neuron_as_dnn.data import dataset_generation
from neuron_as_dnn.paths import MECHANISMS_DIR  # noqa: E402
from neuron_as_dnn.simulation import fidelity  # noqa: E402
from neuron_as_dnn.simulation.simulator import RunSettings, Simulator  # noqa: E402

EXACT = dict(rate_tables=False)  # the original's arithmetic: rates computed, not tabulated
NRN = dict(engine="neuron")
DVTS = dict(record_dendrites=True)  # the dataset default: every dendritic segment at 1 ms
SETTINGS = {
    "cvode": RunSettings(integrator="cvode", **EXACT),
    "fixed_0.025_exact": RunSettings(dt_ms=0.025, secondorder=0, **EXACT, **NRN),
    "fixed_0.0625_CN_neuron": RunSettings(dt_ms=0.0625, secondorder=2, **NRN, **DVTS),
    "old_default": RunSettings(**DVTS),  # run in a child process on the -O2 build
    "default_no_dvt": RunSettings(),
    "default": RunSettings(**DVTS),
    "fixed_1/12_CN": RunSettings(dt_ms=1 / 12, secondorder=2, **DVTS),
    "fixed_0.1_CN": RunSettings(dt_ms=0.1, secondorder=2, **DVTS),
}
OLD_BUILD_SETTING = "old_default"
DEFAULT_SELECTION = ["cvode", "old_default", "default_no_dvt", "default", "fixed_1/12_CN"]
DESCRIPTION = {
    "cvode": "CVode, exact rates (the original's setting)",
    "fixed_0.025_exact": "fixed 0.025 ms, backward Euler, exact rates, NEURON",
    "fixed_0.0625_CN_neuron": "fixed 1/16 ms, Crank-Nicolson, rate tables, NEURON, DVTs",
    "old_default": "old default: 1/16 ms CN, rate tables, CoreNEURON, DVTs; mechanisms at -O2",
    "default_no_dvt": "new default, --no-dvt",
    "default": "new default: the same, mechanisms at -O3 -march=native -ffast-math, DVTs",
    "fixed_1/12_CN": "fixed 1/12 ms, Crank-Nicolson (otherwise the new default)",
    "fixed_0.1_CN": "fixed 0.1 ms, Crank-Nicolson (otherwise the new default)",
}
REFERENCE_INPUTS = paths.REFERENCE_SIMULATIONS_DIR / "nmda_cvode_1.npz"


def load_inputs(path):
    """The events of one replay-format file, or (no such file) one pattern of the dataset generator."""
    from neuron_as_dnn.simulation.simulator import load_replay_inputs
    if path and Path(path).is_file():
        data = load_replay_inputs(path)
        return {k: data[k] for k in ("ex_seg", "ex_ms", "inh_seg", "inh_ms")}, str(path)
    import fidelity as fidelity_bench
    task = fidelity_bench.random_tasks(["NMDA"], 1, 6000, 11)[0]
    return dict(zip(("ex_seg", "ex_ms", "inh_seg", "inh_ms"), task.events)), "generated (seed 11)"


def benchmark_inputs(num_random: int, duration_ms: int, seed: int) -> list[tuple[str, tuple]]:
    """(name, events) of the reference input and the random ones, cut to duration_ms."""
    import fidelity as fidelity_bench
    inputs = []
    if REFERENCE_INPUTS.is_file():
        events, _ = load_inputs(REFERENCE_INPUTS)
        inputs.append(("nmda_cvode_1", fidelity.events_before(
            [events[k] for k in ("ex_seg", "ex_ms", "inh_seg", "inh_ms")], duration_ms)))
    inputs += [(task.name, task.events) for task in fidelity_bench.random_tasks(["NMDA"], num_random, duration_ms, seed)]
    if not inputs:
        sys.exit("bench_simulation.py: error: no inputs: tests/data/reference is absent; give --num-random-inputs > 0")
    return inputs


def run_settings(names: list[str], inputs, duration_ms: int) -> dict[str, list[dict]]:
    """Each setting on every input, one simulator alive at a time."""
    runs = {}
    with Simulator("NMDA", "GABA_A") as simulator:
        for name in names:
            simulator.settings = dataclasses.replace(SETTINGS[name], duration_ms=duration_ms)
            runs[name] = []
            for input_name, events in inputs:
                result = simulator.run(*events)
                runs[name].append(dict(spikes=result.output_spike_times_ms.tolist(),
                                       soma_v_1ms=result.soma_v_low_res.tolist(), cpu=result.cpu_seconds,
                                       wall=result.wall_seconds))
                print(f"  {name} on {input_name}: {result.cpu_seconds:.1f} s CPU, "
                      f"{result.output_spike_times_ms.size} spikes", flush=True)
    return runs


def build_plain_mechanisms(folder: Path) -> Path:
    """The project's mechanisms compiled with nrnivmodl's default flags, in ``folder``."""
    nrnivmodl = shutil.which("nrnivmodl", path=str(Path(sys.executable).parent)) or shutil.which("nrnivmodl")
    shutil.copytree(MECHANISMS_DIR, folder / "mechanisms")
    print(f"compiling the mechanisms with nrnivmodl's default flags in {folder} ...", flush=True)
    subprocess.run([nrnivmodl, "-coreneuron", "mechanisms"], cwd=folder, check=True, capture_output=True)
    return folder


def run_old_default(args, old_build: Path) -> list[dict]:
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "runs.json"
        command = [sys.executable, __file__, "--child-out", str(out), "--settings", OLD_BUILD_SETTING,
                   "--num-random-inputs", str(args.num_random_inputs), "--duration-ms", str(args.duration_ms),
                   "--seed", str(args.seed)]
        subprocess.run(command, env=dict(os.environ, L5PC_MECHANISMS_BUILD=str(old_build)), check=True)
        return json.loads(out.read_text())[OLD_BUILD_SETTING]


def measure_workers(duration_sec: int) -> tuple[float, float]:
    """Wall time of the same 4 simulations with 1 and with 2 workers (default settings, DVTs)."""
    import simulate_L5PC_and_create_dataset as script
    times = []
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            config = dataset_generation.resolve_config(script.SCRIPT.resolve(dict(
                num_simulations=4, duration_sec=duration_sec, seed=3, out_dir=out, workers=workers, progress=False)))
            start = time.perf_counter()
            dataset_generation.generate_dataset(config)
            times.append(time.perf_counter() - start)
    return times[0], times[1]


def summary_row(name: str, runs: list[dict], reference: list[dict], seconds: float) -> str:
    agreements = [fidelity.compare(r["spikes"], np.array(r["soma_v_1ms"]), c["spikes"], np.array(c["soma_v_1ms"]))
                  for r, c in zip(runs, reference)]
    cpu, cvode_cpu = sum(r["cpu"] for r in runs), sum(c["cpu"] for c in reference)
    rms = [a.rms_mV for a in agreements]
    differences = sorted({a.count_difference for a in agreements})
    return (f"| {DESCRIPTION[name]} | {cpu / (seconds * len(runs)):.2f} | {cpu / len(runs):.1f} "
            f"| {cvode_cpu / cpu:.2f}x | {sum(a.within_tolerance for a in agreements)}/{len(agreements)} "
            f"| {np.median(rms):.3f} / {max(rms):.3f} | {', '.join(f'{d:+d}' for d in differences)} "
            f"| {max(a.max_shift_ms for a in agreements):.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-random-inputs", type=int, default=4, help="NMDA inputs of the dataset generator")
    parser.add_argument("--seed", type=int, default=1, help="the dataset seed the random inputs are drawn with")
    parser.add_argument("--duration-ms", type=int, default=6000)
    parser.add_argument("--settings", nargs="+", default=DEFAULT_SELECTION, choices=list(SETTINGS))
    parser.add_argument("--old-build", default=None, help="folder where nrnivmodl ran with its default flags")
    parser.add_argument("--workers-check", action="store_true", help="also time 2 dataset workers against 1")
    parser.add_argument("--child-out", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    inputs = benchmark_inputs(args.num_random_inputs, args.duration_ms, args.seed)
    if args.child_out:
        Path(args.child_out).write_text(json.dumps(run_settings(args.settings, inputs, args.duration_ms)))
        return
    print(f"{len(inputs)} NMDA inputs of {args.duration_ms} ms ({', '.join(name for name, _ in inputs)}); "
          f"{np.mean([e[1].size + e[3].size for _, e in inputs]):.0f} input events each on average; "
          "CPU time per run, one cell alive", flush=True)

    names = ["cvode"] + [s for s in args.settings if s != "cvode"]
    runs = run_settings([n for n in names if n != OLD_BUILD_SETTING], inputs, args.duration_ms)
    if OLD_BUILD_SETTING in names:
        if args.old_build:
            runs[OLD_BUILD_SETTING] = run_old_default(args, Path(args.old_build))
        else:
            with tempfile.TemporaryDirectory() as scratch:
                runs[OLD_BUILD_SETTING] = run_old_default(args, build_plain_mechanisms(Path(scratch)))

    seconds = args.duration_ms / 1000
    print("\n| setting | CPU s per simulated s | CPU s per simulation | speed-up vs CVode (CPU) "
          "| within tolerance of CVode | clipped RMS median / worst (mV) | spike-count differences "
          "| worst spike shift (ms) |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        print(summary_row(name, runs[name], runs["cvode"], seconds))
    if OLD_BUILD_SETTING in runs and "default" in runs:
        old, new = (sum(r["cpu"] for r in runs[n]) for n in (OLD_BUILD_SETTING, "default"))
        print(f"\nnew default / old default: {old / new:.2f}x less CPU")
    if args.workers_check:
        one, two = measure_workers(2)
        print(f"\n4 simulations of 2 s (default settings, DVTs): 1 worker {one:.1f} s, 2 workers {two:.1f} s wall, "
              f"speed-up {one / two:.2f}x")


if __name__ == "__main__":
    main()
