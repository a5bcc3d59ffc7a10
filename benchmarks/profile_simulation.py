"""Where a simulation's CPU time goes: instrumented variants of one run, measured in one process.

For one NMDA input pattern (default: the reference inputs `nmda_cvode_1`, cut to --duration-ms) at the
project's default settings (fixed 1/16 ms Crank-Nicolson, rate tables, engine auto = CoreNEURON) this
runs the full model and variants that each remove one part (input events, NMDA, active dendritic
channels, the synapses) or add one (dendritic voltage recording, the NEURON engine), every variant in
a fresh simulator that is closed before the next is built, so each run integrates one cell only. The
differences give a breakdown of the full run; an operation count gives what the same arithmetic would
cost at a stated flop rate. Each variant runs --repeats times, interleaved, and keeps its smallest
CPU time (the machine may be shared).

    python benchmarks/profile_simulation.py --duration-ms 2000
    python benchmarks/profile_simulation.py                      # the full 6 s

With `perf` (sampling, call stacks through DWARF), the time inside the CoreNEURON run split by function:

    perf record -F 499 --call-graph dwarf,16384 -o /tmp/perf.data -- \
        python benchmarks/profile_simulation.py --only full --repeats 1
    perf script -i /tmp/perf.data -F ip,sym > /tmp/perf.txt
    python benchmarks/profile_simulation.py --perf-script /tmp/perf.txt
"""
import argparse
import logging
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_simulation import REFERENCE_INPUTS, load_inputs  # noqa: E402
from neuron_as_dnn.paths import MECHANISMS_DIR  # noqa: E402
from neuron_as_dnn.simulation.cell import CellOptions  # noqa: E402
from neuron_as_dnn.simulation.simulator import RunSettings, Simulator, live_sections  # noqa: E402

log = logging.getLogger("profile_simulation")

# Operation-count model (stated assumptions, not measurements): every STATE variable costs about
# 20 flops per step (rate lookup or evaluation and the cnexp/derivimplicit update), the tridiagonal
# (Hines) solve with its matrix set-up about 10 flops per compartment; currents are not counted.
FLOPS_PER_STATE = 20
FLOPS_PER_COMPARTMENT_SOLVE = 10
FLOPS_PER_CYCLE = 1  # scalar double precision, no SIMD: a conservative rate for one core


@dataclass(frozen=True)
class Variant:
    description: str
    excitatory: str = "NMDA"
    events: bool = True
    synapses: bool = True
    active_dendrites: bool = True
    record_dendrites: bool = False
    engine: str = "auto"
    duration_ms: int | None = None  # None: the profile's duration


# NEURON first: a CoreNEURON run leaves cache_efficient on, which would change later NEURON runs
VARIANTS = {
    "neuron": Variant("NEURON engine instead of CoreNEURON", engine="neuron"),
    "full": Variant("full model, NMDA events (the default run)"),
    "no_events": Variant("no input events", events=False),
    "ampa": Variant("AMPA (DoubleExpSynapse) instead of AMPA+NMDA synapses", excitatory="AMPA"),
    "passive": Variant("passive dendrites (CellOptions(active_dendrites=False))", active_dendrites=False),
    "no_synapses": Variant("no synapses, no events (the SynapseSet closed before the run)",
                           events=False, synapses=False),
    "dvt": Variant("with dendritic voltage recording (DVTs)", record_dendrites=True),
    "setup": Variant("a 1-ms run: finitialize, event queueing, CoreNEURON model transfer", duration_ms=1),
}


@dataclass
class Measurement:
    cpu_seconds: float
    spikes: int
    compartments: int
    synapses: int
    channel_states: int  # STATE variables of the density mechanisms, summed over compartments
    synapse_states: int

    @property
    def flops_per_step(self) -> int:
        return (FLOPS_PER_STATE * (self.channel_states + self.synapse_states)
                + FLOPS_PER_COMPARTMENT_SOLVE * self.compartments)


def truncate(events: dict, duration_ms: int) -> tuple:
    keep_ex, keep_inh = events["ex_ms"] < duration_ms, events["inh_ms"] < duration_ms
    return (events["ex_seg"][keep_ex], events["ex_ms"][keep_ex], events["inh_seg"][keep_inh], events["inh_ms"][keep_inh])


def mechanism_states() -> dict[str, int]:
    """Number of STATE variables of every mechanism in the project's NMODL files."""
    states = {}
    for path in sorted(MECHANISMS_DIR.glob("*.mod")):
        text = path.read_text()
        name = re.search(r"\b(?:SUFFIX|POINT_PROCESS)\s+(\w+)", text).group(1)
        block = re.search(r"\bSTATE\s*\{([^}]*)\}", text)
        body = re.sub(r"\([^)]*\)", " ", block.group(1)) if block else ""  # drop units
        states[name] = len(re.findall(r"[A-Za-z_]\w*", body))
    return states


def count_model(simulator: Simulator, states: dict[str, int]) -> dict:
    sections = simulator.cell.all_sections
    synapses = simulator.synapses.excitatory + simulator.synapses.inhibitory
    return dict(compartments=sum(sec.nseg for sec in sections), synapses=len(synapses),
                channel_states=sum(sec.nseg * states.get(name, 0)
                                   for sec in sections for name in sec.psection()["density_mechs"]),
                synapse_states=sum(states[syn.hname().split("[")[0]] for syn in synapses))


def run_variant(variant: Variant, events: tuple, duration_ms: int, states: dict[str, int]) -> Measurement:
    settings = RunSettings(duration_ms=variant.duration_ms or duration_ms, engine=variant.engine,
                           record_dendrites=variant.record_dendrites)
    options = CellOptions(active_dendrites=variant.active_dendrites)
    with Simulator(variant.excitatory, "GABA_A", options, settings) as simulator:
        if not variant.synapses:
            simulator.synapses.close()
        if live_sections() != len(simulator.cell.all_sections):
            raise RuntimeError(f"{live_sections()} sections exist, not only this cell's: the timing would be wrong")
        counts = count_model(simulator, states)
        empty = (np.empty(0, int), np.empty(0), np.empty(0, int), np.empty(0))
        result = simulator.run(*(events if variant.events else empty))
        return Measurement(result.cpu_seconds, result.output_spike_times_ms.size, **counts)


def measure(names: list[str], events: tuple, duration_ms: int, repeats: int) -> dict[str, Measurement]:
    states = mechanism_states()
    best: dict[str, Measurement] = {}
    for round_index in range(repeats):
        for name in names:
            measurement = run_variant(VARIANTS[name], events, duration_ms, states)
            log.info("round %d, %s: %.2f s CPU, %d spikes", round_index + 1, name, measurement.cpu_seconds,
                     measurement.spikes)
            if name not in best or measurement.cpu_seconds < best[name].cpu_seconds:
                best[name] = measurement
    return best


def clock_ghz() -> float:
    cpuinfo = Path("/proc/cpuinfo")
    found = re.search(r"cpu MHz\s*:\s*([\d.]+)", cpuinfo.read_text()) if cpuinfo.is_file() else None
    return float(found.group(1)) / 1000 if found else 2.5


def report(m: dict[str, Measurement], duration_ms: int, dt_ms: float, n_events: int) -> None:
    steps = duration_ms / dt_ms
    full = m["full"]
    compartment_steps = full.compartments * steps
    cpu = {name: value.cpu_seconds for name, value in m.items()}
    channels = cpu["full"] - cpu["passive"]
    synapses = cpu["no_events"] - cpu["no_synapses"]
    delivery = cpu["full"] - cpu["no_events"]
    remainder = cpu["full"] - channels - synapses - delivery
    rows = [
        ("active dendritic channels", "full - passive dendrites", channels),
        ("synapse mechanisms (current + state, 1278 point processes)", "no events - no synapses", synapses),
        ("&nbsp;&nbsp;of which the NMDA part", "full - AMPA", cpu["full"] - cpu["ampa"]),
        ("event delivery (queueing, transfer, NET_RECEIVE)", "full - no events", delivery),
        ("matrix solve + passive + soma/axon channels + soma/nexus recording (remainder)",
         "full - the three above", remainder),
        ("&nbsp;&nbsp;of which fixed set-up per run", "a 1-ms run", cpu["setup"]),
    ]
    print(f"\n{duration_ms} ms at dt {dt_ms} ms ({steps:.0f} steps), {full.compartments} compartments, "
          f"{full.synapses} synapses, {n_events} input events; CPU s, smallest of the repeats\n")
    print("| variant | CPU s | output spikes | ns per compartment-step |")
    print("|---|---|---|---|")
    for name, value in m.items():
        if name != "setup":
            print(f"| {VARIANTS[name].description} | {value.cpu_seconds:.2f} | {value.spikes} "
                  f"| {value.cpu_seconds / compartment_steps * 1e9:.0f} |")
    print("\n| part of the full run | measured as | CPU s | % of full |")
    print("|---|---|---|---|")
    for label, how, seconds in rows:
        print(f"| {label} | {how} | {seconds:.2f} | {100 * seconds / cpu['full']:.0f}% |")
    print(f"| **full run** | | **{cpu['full']:.2f}** | 100% |")
    for label, how, seconds in (("DVT recording (on top of the full run)", "with DVTs - full", cpu["dvt"] - cpu["full"]),
                                ("NEURON instead of CoreNEURON", "NEURON - full", cpu["neuron"] - cpu["full"])):
        print(f"| {label} | {how} | {seconds:+.2f} | {100 * seconds / cpu['full']:+.0f}% |")

    print(f"\nunit costs: {cpu['full'] / compartment_steps * 1e9:.0f} ns per compartment-step (full run), "
          f"{synapses / (full.synapses * steps) * 1e9:.1f} ns per synapse-step, "
          f"{delivery / max(n_events, 1) * 1e6:.2f} us per input event, "
          f"{(cpu['dvt'] - cpu['full']) / (639 * steps) * 1e9:.1f} ns per recorded dendritic value")
    ghz = clock_ghz()
    ideal_ns = full.flops_per_step / (FLOPS_PER_CYCLE * ghz) / full.compartments
    measured_ns = (cpu["full"] - cpu["setup"]) / compartment_steps * 1e9
    print(f"ideal cost: {full.channel_states} channel and {full.synapse_states} synapse STATE variables, "
          f"{full.flops_per_step / full.compartments:.0f} flops per compartment-step "
          f"({FLOPS_PER_STATE} per STATE variable of every inserted mechanism and synapse, "
          f"{FLOPS_PER_COMPARTMENT_SOLVE} per compartment for the solve, currents not counted) at "
          f"{FLOPS_PER_CYCLE} flop per cycle and {ghz:.2f} GHz = {ideal_ns:.1f} ns per compartment-step; "
          f"measured without set-up {measured_ns:.0f} ns, {measured_ns / ideal_ns:.1f}x the ideal")


MECHANISM_FRAME = re.compile(r"coreneuron::(nrn_state|nrn_cur|rates|net_receive|nrn_init)_(\w+)")
SYNAPSE_MECHANISMS = ("AmpaNmdaSynapse", "DoubleExpSynapse")
SOLVER_FRAMES = ("nrn_solve_minimal", "setup_tree_matrix_minimal", "second_order_cur", "update",
                 "nrn_jacob_capacitance", "nrn_rhs", "nrn_lhs", "capacitance", "pas")


def perf_frame_label(frames: list[str]) -> str:
    """The innermost CoreNEURON function of one sampled stack: a mechanism's kernel, or else the
    first coreneuron:: frame (libm's exp, for one, is charged to the kernel that called it)."""
    for frame in frames:
        found = MECHANISM_FRAME.match(frame)
        if found:
            kernel = "state" if found.group(1) in ("nrn_state", "rates") else found.group(1).removeprefix("nrn_")
            return f"{found.group(2)} {kernel}"
        if frame.startswith("coreneuron::") and "multithread" not in frame:
            return frame.removeprefix("coreneuron::")
    return frames[0]


def perf_part(label: str) -> str:
    mechanism = label.split()[0]
    if mechanism in SYNAPSE_MECHANISMS:
        return "synapse mechanisms"
    if mechanism in SOLVER_FRAMES:
        return "matrix set-up and solve, passive, capacitance"
    if " " in label:  # a kernel of a channel, or the ions' current accumulation
        return "channel mechanisms"
    return "other (events, recording, transfer)"


def summarise_perf(path: Path) -> None:
    """Share of the samples inside the CoreNEURON run (under ``psolve``), per function and per part."""
    functions, parts, exp_leaves, total = Counter(), Counter(), 0, 0
    for sample in path.read_text().split("\n\n"):
        frames = [line.split(None, 1)[1] for line in sample.strip().splitlines() if len(line.split(None, 1)) == 2]
        if not any("psolve" in frame for frame in frames):
            continue
        total += 1
        label = perf_frame_label(frames)
        functions[label] += 1
        parts[perf_part(label)] += 1
        exp_leaves += "exp" in frames[0] and ("ieee754" in frames[0] or frames[0].startswith("exp"))
    if not total:
        raise SystemExit(f"{path} has no sample under psolve: record a CoreNEURON run with --call-graph dwarf")
    print(f"{total} samples inside the CoreNEURON run; {100 * exp_leaves / total:.0f}% of them in libm's exp\n")
    print("| part | % of the run's samples |\n|---|---|")
    for part, count in parts.most_common():
        print(f"| {part} | {100 * count / total:.0f}% |")
    print("\n| function (kernel) | % of the run's samples |\n|---|---|")
    for label, count in functions.most_common(15):
        print(f"| {label} | {100 * count / total:.1f}% |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", default=str(REFERENCE_INPUTS), help="replay-format .npz with the input events")
    parser.add_argument("--duration-ms", type=int, default=6000)
    parser.add_argument("--repeats", type=int, default=2, help="runs per variant; the smallest CPU time is kept")
    parser.add_argument("--only", choices=list(VARIANTS), help="run this variant only, no breakdown (for perf)")
    parser.add_argument("--perf-script", type=Path, help="summarise `perf script -F ip,sym` output instead of running")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.perf_script:
        summarise_perf(args.perf_script)
        return

    inputs, source = load_inputs(args.inputs)
    events = truncate(inputs, args.duration_ms)
    n_events = events[1].size + events[3].size
    log.info("inputs: %s; %d excitatory + %d inhibitory events, %d ms", source, events[1].size, events[3].size,
             args.duration_ms)
    names = [args.only] if args.only else list(VARIANTS)
    measurements = measure(names, events, args.duration_ms, args.repeats)
    if not args.only:
        report(measurements, args.duration_ms, RunSettings().dt_ms, n_events)


if __name__ == "__main__":
    main()
