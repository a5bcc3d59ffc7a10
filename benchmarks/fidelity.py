"""Fidelity on many inputs: the default settings against CVode, the original's integrator.

Draws --num-inputs random inputs per synapse type with the dataset generator itself (simulation i of
`simulate_L5PC_and_create_dataset.py --synapse-type TYPE --seed SEED`, cut to --duration-ms), runs each
with CVode and exact rates (the original's setting) and with `RunSettings()` (fixed 1/16 ms
Crank-Nicolson, rate tables, engine auto), and compares the two runs of the same input
(neuron_as_dnn.simulation.fidelity: spike counts within ±1, soma voltage clipped at -55 mV within 0.5 mV RMS,
paired spike times within 2 ms). Prints every input as it finishes, then the distribution per synapse
type and the CPU ratio CVode / default. CPU times are per process, so they stay valid with --workers.
--out is rewritten after every input, so an interrupted run keeps what finished.

    python benchmarks/fidelity.py --workers 2 --out /tmp/fidelity_6s.json     # 20 + 20 inputs of 6 s
    python benchmarks/fidelity.py --num-inputs 2 --duration-ms 1000 --synapse-types NMDA
"""
import argparse
import dataclasses
import logging
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neuron_as_dnn import paths
from neuron_as_dnn.data import dataset_generation
from neuron_as_dnn.simulation import fidelity, morphology as morphology_files  # noqa: E402
from neuron_as_dnn.simulation.cell import CellOptions, L5PC  # noqa: E402
from neuron_as_dnn.simulation.simulator import RunSettings, Simulator, load_replay_inputs  # noqa: E402
from neuron_as_dnn.utils import setup_logging, write_json  # noqa: E402

log = logging.getLogger("fidelity")

SETTINGS = {
    "cvode": RunSettings(integrator="cvode", rate_tables=False),  # the original's setting
    "default": RunSettings(),
}
REFERENCE_DIR = paths.REFERENCE_SIMULATIONS_DIR


@dataclasses.dataclass(frozen=True)
class Task:
    """One input pattern and the cell it drives."""
    group: str  # what the summary pools: the synapse type, or "<type>, reference files"
    name: str
    excitatory: str
    inhibitory: str
    cell_options: CellOptions
    events: tuple  # ex_seg, ex_ms, inh_seg, inh_ms
    details: dict

    def simulator_key(self, setting: str) -> tuple:
        return self.excitatory, self.inhibitory, self.cell_options, setting


@dataclasses.dataclass
class Run:
    spikes_ms: np.ndarray
    soma_v_1ms: np.ndarray
    cpu_seconds: float
    wall_seconds: float
    engine: str


# -- inputs ---------------------------------------------------------------------------------------

def generation_config(synapse_type: str, seed: int, num_inputs: int, duration_ms: int, morphology=None):
    """The configuration `simulate_L5PC_and_create_dataset.py` resolves for this type and seed."""
    import simulate_L5PC_and_create_dataset as script
    return dataset_generation.resolve_config(script.SCRIPT.resolve(dict(
        synapse_type=synapse_type, seed=seed, num_simulations=num_inputs, duration_sec=math.ceil(duration_ms / 1000),
        dvt=False, out_dir=tempfile.gettempdir(), morphology=morphology)))


def random_tasks(synapse_types, num_inputs: int, duration_ms: int, seed: int, morphology=None) -> list[Task]:
    """Inputs of the presets' statistics, interleaved by type so that a run stopped early has some of each."""
    if num_inputs == 0 or not synapse_types:
        return []
    configs = {t: generation_config(t, seed, num_inputs, duration_ms, morphology) for t in synapse_types}
    cell = L5PC(next(iter(configs.values())).morphology)
    table = cell.segment_table()
    cell.delete()  # only its segment table was needed; a live cell would be integrated by every run here
    tasks = []
    for index in range(num_inputs):
        for synapse_type, config in configs.items():
            pattern = dataset_generation.generate_inputs(config, table["length_um"], table["type"], index)
            events = pattern.events()
            events = fidelity.events_before([events[k] for k in ("ex_seg", "ex_ms", "inh_seg", "inh_ms")],
                                            duration_ms)
            tasks.append(Task(
                group=synapse_type, name=f"{synapse_type} #{index}", excitatory=config.excitatory_synapse_type,
                inhibitory=config.inhibitory_synapse_type, cell_options=config.cell_options(), events=events,
                details=dict(seed=seed, index=index, simulation_seed=dataset_generation.simulation_seed(seed, index),
                             interval_ms=int(pattern.interval_ms), sigma_ms=int(pattern.sigma_ms))))
    return tasks


def reference_tasks(duration_ms: int, reference_dir: Path = REFERENCE_DIR) -> list[Task]:
    """The inputs of the reference simulations of the original model."""
    tasks = []
    for path in sorted(reference_dir.glob("*.npz")):
        inputs = load_replay_inputs(path)
        synapse = inputs.get("synapse", "NMDA")
        events = fidelity.events_before([inputs[k] for k in ("ex_seg", "ex_ms", "inh_seg", "inh_ms")], duration_ms)
        tasks.append(Task(group=f"{synapse}, reference files", name=path.stem, excitatory=synapse,
                          inhibitory="GABA_A", cell_options=CellOptions(), events=events,
                          details=dict(file=str(path))))
    return tasks


# -- running: one live simulator per process ------------------------------------------------------

class Runner:
    """Runs each task with every setting, on one simulator per synapse type and setting.

    NEURON integrates every cell that exists in the process, so only one simulator is alive at a time:
    it is closed when a run needs another synapse type or setting.
    """

    def __init__(self, duration_ms: int, morphology=None):
        self.duration_ms = duration_ms
        self.morphology = morphology
        self._key = None
        self._simulator = None

    def _simulator_for(self, key: tuple) -> Simulator:
        if key != self._key:
            self.close()
            excitatory, inhibitory, options, setting = key
            settings = dataclasses.replace(SETTINGS[setting], duration_ms=self.duration_ms)
            self._simulator = Simulator(excitatory, inhibitory, options, settings, self.morphology)
            self._key = key
        return self._simulator

    def run(self, task: Task) -> dict[str, Run]:
        # the setting whose simulator is open goes first, which halves the rebuilds
        order = sorted(SETTINGS, key=lambda name: self._key != task.simulator_key(name))
        runs = {}
        for name in order:
            result = self._simulator_for(task.simulator_key(name)).run(*task.events)
            runs[name] = Run(result.output_spike_times_ms, result.soma_v_low_res, result.cpu_seconds,
                             result.wall_seconds, result.extra["engine"])
        return {name: runs[name] for name in SETTINGS}

    def close(self) -> None:
        if self._simulator is not None:
            self._simulator.close()
        self._simulator = self._key = None


_runner: Runner | None = None


def _init_worker(duration_ms: int, morphology) -> None:
    global _runner
    _runner = Runner(duration_ms, morphology)


def _run_in_worker(numbered: tuple[int, Task]) -> tuple[int, dict[str, Run] | str]:
    # an error is returned, not raised: one failing input must not end a run of hours
    number, task = numbered
    try:
        return number, _runner.run(task)
    except Exception as error:  # noqa: BLE001
        _runner.close()
        return number, f"{type(error).__name__}: {error}"


def run_tasks(tasks: list[Task], duration_ms: int, workers: int = 1, morphology=None):
    """Yield (task, runs per setting, or the error as text) as each task finishes (in any order with
    several workers). Workers are spawned processes with their own simulators: no NEURON state is shared."""
    global _runner
    if workers == 1:
        _runner = Runner(duration_ms, morphology)
        try:
            for numbered in enumerate(tasks):
                number, runs = _run_in_worker(numbered)
                yield tasks[number], runs
        finally:
            _runner.close()
            _runner = None
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(min(workers, len(tasks)), initializer=_init_worker, initargs=(duration_ms, morphology)) as pool:
        for number, runs in pool.imap_unordered(_run_in_worker, list(enumerate(tasks))):
            yield tasks[number], runs


# -- reporting ------------------------------------------------------------------------------------

def record(task: Task, runs: dict[str, Run]) -> dict:
    agreement = fidelity.compare(runs["default"].spikes_ms, runs["default"].soma_v_1ms,
                                 runs["cvode"].spikes_ms, runs["cvode"].soma_v_1ms)
    return dict(
        group=task.group, name=task.name, excitatory=task.excitatory, **task.details,
        excitatory_events=int(task.events[1].size), inhibitory_events=int(task.events[3].size),
        runs={name: dict(spikes=int(run.spikes_ms.size), spike_times_ms=run.spikes_ms.tolist(),
                         cpu_seconds=run.cpu_seconds, wall_seconds=run.wall_seconds, engine=run.engine)
              for name, run in runs.items()},
        agreement=agreement.as_dict(), failures=agreement.failures(),
        cpu_ratio=runs["cvode"].cpu_seconds / runs["default"].cpu_seconds)


def input_line(rec: dict) -> str:
    a, cvode, default = rec["agreement"], rec["runs"]["cvode"], rec["runs"]["default"]
    verdict = "within tolerance" if a["within_tolerance"] else "OUTSIDE: " + "; ".join(rec["failures"])
    return (f"{rec['name']}: spikes CVode {cvode['spikes']}, default {default['spikes']} "
            f"(unpaired {a['unmatched']}/{a['unmatched_reference']}), max shift {a['max_shift_ms']:.3f} ms, "
            f"RMS {a['rms_mV']:.3f} mV, CPU {cvode['cpu_seconds']:.1f} / {default['cpu_seconds']:.1f} s "
            f"({rec['cpu_ratio']:.2f}x): {verdict}")


def summarise(records: list[dict]) -> dict:
    """Per group: the distribution of the agreement and the CPU ratio."""
    summary = {}
    for group in dict.fromkeys(r["group"] for r in records):
        rows = [r for r in records if r["group"] == group]
        rms = [r["agreement"]["rms_mV"] for r in rows]
        shifts = [r["agreement"]["max_shift_ms"] for r in rows]
        cpu = {name: [r["runs"][name]["cpu_seconds"] for r in rows] for name in SETTINGS}
        differences = Counter(r["agreement"]["count_difference"] for r in rows)
        summary[group] = dict(
            inputs=len(rows),
            within_tolerance=sum(r["agreement"]["within_tolerance"] for r in rows),
            outside_tolerance={r["name"]: r["failures"] for r in rows if r["failures"]},
            rms_mV_median=float(np.median(rms)), rms_mV_worst=max(rms), rms_worst_input=rows[int(np.argmax(rms))]["name"],
            count_differences={f"{d:+d}": differences[d] for d in sorted(differences)},
            unpaired_spikes=sum(r["agreement"]["unmatched"] + r["agreement"]["unmatched_reference"] for r in rows),
            max_shift_ms_worst=max(shifts), shift_worst_input=rows[int(np.argmax(shifts))]["name"],
            cvode_spikes=sum(r["runs"]["cvode"]["spikes"] for r in rows),
            cpu_ratio_median=float(np.median([r["cpu_ratio"] for r in rows])),
            cpu_ratio_total=sum(cpu["cvode"]) / sum(cpu["default"]),
            cpu_seconds_total={name: sum(values) for name, values in cpu.items()})
    return summary


def print_report(records: list[dict], summary: dict) -> None:
    print("\n| input | CVode spikes | default spikes | unpaired (default/CVode) | max shift (ms) "
          "| clipped RMS (mV) | CPU CVode (s) | CPU default (s) | ratio | within tolerance |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for rec in sorted(records, key=lambda r: (r["group"], r.get("index", 0), r["name"])):
        a, runs = rec["agreement"], rec["runs"]
        print(f"| {rec['name']} | {runs['cvode']['spikes']} | {runs['default']['spikes']} "
              f"| {a['unmatched']}/{a['unmatched_reference']} | {a['max_shift_ms']:.3f} | {a['rms_mV']:.3f} "
              f"| {runs['cvode']['cpu_seconds']:.1f} | {runs['default']['cpu_seconds']:.1f} "
              f"| {rec['cpu_ratio']:.2f}x | {'yes' if a['within_tolerance'] else 'NO'} |")
    print("\n| inputs | n | within tolerance | RMS median / worst (mV) | spike-count difference (default − CVode) "
          "| worst shift (ms) | CPU ratio CVode/default: median, total | CPU s total: CVode, default |")
    print("|---|---|---|---|---|---|---|---|")
    for group, s in summary.items():
        differences = ", ".join(f"{d}: {n}" for d, n in s["count_differences"].items())
        print(f"| {group} | {s['inputs']} | {s['within_tolerance']}/{s['inputs']} "
              f"| {s['rms_mV_median']:.3f} / {s['rms_mV_worst']:.3f} ({s['rms_worst_input']}) | {differences} "
              f"| {s['max_shift_ms_worst']:.3f} ({s['shift_worst_input']}) "
              f"| {s['cpu_ratio_median']:.2f}x, {s['cpu_ratio_total']:.2f}x "
              f"| {s['cpu_seconds_total']['cvode']:.0f}, {s['cpu_seconds_total']['default']:.0f} |")
    for group, s in summary.items():
        for name, failures in s["outside_tolerance"].items():
            print(f"outside the tolerance: {name}: {'; '.join(failures)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-inputs", type=int, default=20, help="random inputs per synapse type")
    parser.add_argument("--duration-ms", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=1, help="the dataset seed the inputs are drawn with")
    parser.add_argument("--synapse-types", nargs="*", default=["NMDA", "AMPA"],
                        choices=list(dataset_generation.PRESETS))
    parser.add_argument("--reference", action="store_true", help="also the inputs of tests/data/reference/*.npz")
    parser.add_argument("--workers", type=int, default=1, help="parallel processes")
    parser.add_argument("--morphology", default=None, help="cell1.asc; default: $L5PC_MORPHOLOGY or the download")
    parser.add_argument("--out", default=None, help="JSON of every input and the summary")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    if args.num_inputs < 0 or args.duration_ms < 1 or args.workers < 1:
        parser.error("--num-inputs must be >= 0, --duration-ms and --workers >= 1")
    setup_logging(args.log_level)
    # a plain SIGTERM would leave the spawned workers running; SystemExit closes the pool
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    morphology = str(morphology_files.locate(args.morphology))
    tasks = random_tasks(args.synapse_types, args.num_inputs, args.duration_ms, args.seed, morphology)
    if args.reference:
        tasks += reference_tasks(args.duration_ms)
    if not tasks:
        parser.error("no inputs: give --num-inputs > 0 or --reference")
    log.info("%d inputs of %d ms (%s), %d worker(s): CVode (exact rates) and the default settings on each",
             len(tasks), args.duration_ms, ", ".join(dict.fromkeys(t.group for t in tasks)), args.workers)

    output = dict(command=" ".join([Path(sys.argv[0]).name] + sys.argv[1:]), arguments=vars(args),
                  settings={name: dataclasses.asdict(s) for name, s in SETTINGS.items()},
                  tolerance=dict(count=fidelity.COUNT_TOLERANCE, rms_mV=fidelity.RMS_TOLERANCE_MV,
                                 shift_ms=fidelity.SHIFT_TOLERANCE_MS),
                  load_average_start=os.getloadavg(), complete=False, inputs=[], summary={})
    start = time.perf_counter()
    bar = tqdm(total=len(tasks), unit="input", smoothing=0)
    for task, runs in run_tasks(tasks, args.duration_ms, args.workers, morphology):
        bar.update()
        if isinstance(runs, str):
            log.error("%s failed: %s", task.name, runs)
            output.setdefault("errors", {})[task.name] = runs
        else:
            output["inputs"].append(record(task, runs))
            bar.write(input_line(output["inputs"][-1]))
            output["summary"] = summarise(output["inputs"])
        output["wall_seconds"] = time.perf_counter() - start
        if args.out:
            write_json(args.out, output)
    bar.close()
    output.update(complete=True, load_average_end=os.getloadavg())
    if args.out:
        write_json(args.out, output)
        log.info("written: %s", args.out)
    if output["inputs"]:
        print_report(output["inputs"], output["summary"])
    for name, error in output.get("errors", {}).items():
        print(f"failed: {name}: {error}")
    return output


if __name__ == "__main__":
    main()
