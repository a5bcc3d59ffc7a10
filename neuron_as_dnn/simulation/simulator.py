"""Simulating the L5PC on given inputs: one reusable simulator, output-spike detection, replay files.

``Simulator`` builds the cell and its 1278 synapses once and then runs any number of input
patterns, only replacing the queued events between runs. Voltages are recorded on the datasets'
grids directly (soma and nexus every 0.125 ms, optionally every dendritic segment every 1 ms).
NEURON integrates every section that exists in the process, so release a simulator before building
the next one: ``close()``, or ``with Simulator(...) as simulator:``.
"""
from __future__ import annotations

import logging
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neuron_as_dnn.errors import ConfigError, FileContentError, MissingFileError, UserError
from neuron_as_dnn.simulation.cell import CellOptions, L5PC, SynapseSet, neuron_h
from neuron_as_dnn.utils import atomic_write

log = logging.getLogger(__name__)

INTEGRATORS = ("fixed", "cvode")
ENGINES = ("auto", "neuron", "coreneuron")
TABULATED_MECHANISMS = ("NaTa_t", "NaTs2_t", "Nap_Et2", "Ca_HVA", "Ca_LVAst", "K_Pst", "K_Tst", "SKv3_1", "Im")
SPIKE_THRESHOLD_MV = -25.0
HIGH_RES_SAMPLES_PER_MS = 8    # the recording grid of the soma and nexus voltages (the dataset's high-res traces)
SOMA_CLIP_MV = -55.0           # above it the soma voltage is an (under-sampled) action potential: the network's
                               # target and the fidelity's RMS clip it there


@dataclass(frozen=True)
class RunSettings:
    """How to integrate. The original data used CVode; a fixed step is the faster default."""
    integrator: str = "fixed"
    # 1/16 ms with Crank-Nicolson: 19/19 spikes and 0.14 mV RMS against CVode on the reference
    # inputs at a fraction of the cost (benchmarks/bench_simulation.py)
    dt_ms: float = 0.0625  # fixed step only
    secondorder: int = 2  # 0: backward Euler, 2: Crank-Nicolson (fixed step only)
    v_init_mV: float = -76.0
    duration_ms: int = 6000
    record_dendrites: bool = False
    # CoreNEURON computes the same numbers faster (fixed step only); 'auto' takes it whenever it can
    engine: str = "auto"
    # voltage-dependent channel rates from NMODL tables (0.05 mV apart): ~1.2x faster, ~1e-4 mV from exact
    rate_tables: bool = True

    def resolved_engine(self) -> str:
        if self.engine != "auto":
            return self.engine
        from neuron_as_dnn.simulation.cell import compiled_mechanisms_dir
        core_available = (compiled_mechanisms_dir() / "libcorenrnmech.so").is_file()
        return "coreneuron" if self.integrator == "fixed" and core_available else "neuron"

    def __post_init__(self):
        if self.integrator not in INTEGRATORS:
            raise ConfigError(f"integrator must be one of {INTEGRATORS}, got {self.integrator!r}")
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {ENGINES}, got {self.engine!r}")
        if self.engine == "coreneuron" and self.integrator != "fixed":
            raise ConfigError("engine 'coreneuron' runs only with the fixed-step integrator "
                             "(use the 'neuron' engine for CVode)")
        if self.integrator == "fixed":
            steps_per_ms = 1.0 / self.dt_ms if self.dt_ms > 0 else 0.5
            if abs(steps_per_ms - round(steps_per_ms)) > 1e-9:
                raise ConfigError(f"dt_ms must be positive and divide 1 ms exactly (0.025, 0.05, 0.1, ...), "
                                 f"got {self.dt_ms}")
        if self.secondorder not in (0, 1, 2):
            raise ConfigError(f"secondorder must be 0, 1 or 2, got {self.secondorder}")
        if not (isinstance(self.duration_ms, (int, np.integer)) and self.duration_ms > 0):
            raise ConfigError(f"duration_ms must be a positive integer number of ms, got {self.duration_ms}")


@dataclass
class SimulationResult:
    soma_v_high_res: np.ndarray  # (duration * 8,) mV at 0, 0.125, ... ms
    nexus_v_high_res: np.ndarray
    output_spike_times_ms: np.ndarray  # float64, on the 0.125-ms grid
    dendritic_v_low_res: np.ndarray | None = None  # (639, duration) mV at integer ms
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def soma_v_low_res(self) -> np.ndarray:
        return self.soma_v_high_res[::HIGH_RES_SAMPLES_PER_MS]

    @property
    def nexus_v_low_res(self) -> np.ndarray:
        return self.nexus_v_high_res[::HIGH_RES_SAMPLES_PER_MS]


def detect_output_spikes(soma_v_high_res: np.ndarray, threshold_mV: float = SPIKE_THRESHOLD_MV) -> np.ndarray:
    """Spike times (ms, float64): strict local maxima of the 0.125-ms soma trace above threshold."""
    v = np.asarray(soma_v_high_res, dtype=np.float64)
    rising = np.diff(v[:-1]) > 0
    falling = np.diff(v[1:]) < 0
    peaks = np.flatnonzero(rising & falling & (v[1:-1] > threshold_mV)) + 1
    return peaks / HIGH_RES_SAMPLES_PER_MS


def live_sections() -> int:
    """How many sections exist in this process: every one of them is integrated by every run."""
    return sum(1 for _ in neuron_h().allsec())


class Simulator:
    """A cell with its synapses and recorders, ready to run input patterns one after another.

    Release it with ``close()`` (or use it as a context manager) before building another one in the
    same process: a cell left alive is integrated by every later run, at its full cost.
    """

    def __init__(self, excitatory_type: str = "NMDA", inhibitory_type: str = "GABA_A",
                 cell_options: CellOptions = CellOptions(), settings: RunSettings = RunSettings(),
                 morphology_path: str | Path | None = None):
        self.settings = settings
        self.cell = L5PC(morphology_path, cell_options)
        self.h = self.cell.h
        self.synapses = SynapseSet(self.cell, excitatory_type, inhibitory_type)
        self._make_recorders()
        self._own_sections = len(self.cell.all_sections)
        self._warned_about_other_sections = False

    def __enter__(self) -> "Simulator":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self.cell is None

    def close(self) -> None:
        """Release the recorders, synapses and cell; the sections are deleted even if the caller
        still holds the cell or one of its segments. Closing twice is harmless."""
        if self.closed:
            return
        self.synapses.close()
        self._time_rec = self._soma_rec = self._nexus_rec = None
        self._dendrite_recs = []
        self.cell.delete()
        self.cell = self.synapses = None

    def _warn_if_not_alone(self) -> None:
        others = live_sections() - self._own_sections
        if others > 0 and not self._warned_about_other_sections:
            self._warned_about_other_sections = True
            log.warning("%d sections besides this simulator's cell exist in this process, and every run "
                        "integrates them too: close other simulators (Simulator.close() or a with block)",
                        others)

    def _make_recorders(self) -> None:
        # Soma and nexus at every integration step, then linearly interpolated onto the 0.125-ms
        # grid as the original did (works for any step and for CVode). Dendrites: see below.
        h = self.h
        self._time_rec = h.Vector().record(h._ref_t)
        self._soma_rec = h.Vector().record(self.cell.soma(0.5)._ref_v)
        self._nexus_rec = h.Vector().record(self.cell.nexus._ref_v)
        self._dendrite_recs = []
        self._dendrites_every_step = False

    def _make_dendrite_recorders(self, engine: str) -> None:
        """Dendritic voltages at integer ms. CoreNEURON returns a single sample for a sampled
        recording, so there every step is recorded (about 0.5 GB for 6 s at 1/16 ms) and thinned."""
        every_step = engine == "coreneuron"
        if self._dendrite_recs and every_step == self._dendrites_every_step:
            return
        h = self.h
        self._dendrite_recs = [h.Vector().record(seg._ref_v) if every_step else h.Vector().record(seg._ref_v, 1.0)
                               for seg in self.cell.segments]
        self._dendrites_every_step = every_step

    def run(self, ex_segments, ex_times_ms, inh_segments, inh_times_ms) -> SimulationResult:
        """Simulate one input pattern given as (segment index, time in ms) event arrays."""
        if self.closed:
            raise RuntimeError("this simulator was closed; build a new one")
        self._warn_if_not_alone()
        h, s = self.h, self.settings
        self.synapses.set_inputs(ex_segments, ex_times_ms, inh_segments, inh_times_ms)
        cvode = h.CVode()
        cvode.active(1 if s.integrator == "cvode" else 0)
        if s.integrator == "fixed":
            # Set on every run: after a CVode run h.dt holds CVode's last step.
            h.dt = s.dt_ms
            h.steps_per_ms = 1.0 / s.dt_ms
            h.secondorder = s.secondorder
        else:
            h.secondorder = 0
        engine = s.resolved_engine()
        if s.record_dendrites:
            self._make_dendrite_recorders(engine)
        elif self._dendrite_recs:
            self._dendrite_recs = []
        for mechanism in TABULATED_MECHANISMS:
            setattr(h, f"usetable_{mechanism}", 1 if s.rate_tables else 0)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        h.finitialize(s.v_init_mV)
        if engine == "coreneuron":
            _run_coreneuron(h, s.duration_ms)
        elif s.integrator == "cvode":
            cvode.solve(s.duration_ms)  # stdrun's continuerun can stop a fraction of a step short
        else:
            h.continuerun(s.duration_ms)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        t = self._time_rec.as_numpy()
        grid = np.arange(s.duration_ms * HIGH_RES_SAMPLES_PER_MS) / HIGH_RES_SAMPLES_PER_MS
        if t[-1] < grid[-1] - 1e-6:
            raise RuntimeError(f"the run stopped at {t[-1]} ms, before {grid[-1]} ms")
        soma = np.interp(grid, t, self._soma_rec.as_numpy())
        nexus = np.interp(grid, t, self._nexus_rec.as_numpy())
        dendrites = None
        if self._dendrite_recs:
            stride = int(round(1.0 / s.dt_ms)) if self._dendrites_every_step else 1
            dendrites = np.stack([vec.as_numpy()[::stride][:s.duration_ms] for vec in self._dendrite_recs])
        return SimulationResult(soma_v_high_res=soma, nexus_v_high_res=nexus,
                                output_spike_times_ms=detect_output_spikes(soma),
                                dendritic_v_low_res=dendrites, cpu_seconds=cpu, wall_seconds=wall,
                                extra={"engine": engine})


def _run_coreneuron(h, duration_ms: float) -> None:
    from neuron import coreneuron

    from neuron_as_dnn.simulation.cell import compiled_mechanisms_dir
    library = compiled_mechanisms_dir() / "libcorenrnmech.so"
    if not library.is_file():
        raise RuntimeError(f"{library} is missing: the mechanisms were compiled without CoreNEURON "
                           "support; rerun `make setup` (it compiles them with nrnivmodl -coreneuron)")
    os.environ["CORENEURONLIB"] = str(library)
    h.cvode.cache_efficient(1)
    coreneuron.enable = True
    coreneuron.verbose = 0
    try:
        h.ParallelContext().psolve(duration_ms)
    finally:
        coreneuron.enable = False


# -- replay files (the format of tests/data/reference/README.md) ------------------------------------

def load_replay_inputs(path: str | Path) -> dict:
    """Read an input-pattern file: ex_seg, ex_ms, inh_seg, inh_ms and optionally synapse,
    integrator, dt_ms, v_init_mV, duration_ms."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"replay input {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:  # a single .npy array has no ``with``: TypeError
            inputs = {k: data[k] for k in data.files}
    except (EOFError, OSError, ValueError, TypeError, zipfile.BadZipFile) as error:
        reason = getattr(error, "strerror", None) or "empty, truncated, or not an .npz of named arrays"
        raise FileContentError(path, f"cannot be read as a replay input ({reason}; the format is in the README, "
                                     "'Replaying a given input')") from None
    missing = [k for k in ("ex_seg", "ex_ms", "inh_seg", "inh_ms") if k not in inputs]
    if missing:
        raise FileContentError(path, f"lacks the keys {missing} (the format is in the README, 'Replaying a given input')")
    for key in ("synapse", "integrator"):
        if key in inputs:
            inputs[key] = str(inputs[key])
    return inputs


def replay_settings(inputs: dict, synapse_type: str | None = None, integrator: str | None = None,
                    dt_ms: float | None = None, record_dendrites: bool = False) -> tuple[str, RunSettings]:
    """Settings for a replay: explicit arguments win, then what the file names, then defaults."""
    defaults = RunSettings()
    synapse = synapse_type or inputs.get("synapse", "NMDA")
    integrator = integrator or inputs.get("integrator", defaults.integrator)
    if dt_ms is None:
        file_dt = float(inputs.get("dt_ms", -1))
        dt_ms = file_dt if file_dt > 0 else defaults.dt_ms
    # a file that names its step was integrated with backward Euler (as the reference files)
    secondorder = 0 if float(inputs.get("dt_ms", -1)) > 0 else defaults.secondorder
    settings = RunSettings(integrator=integrator, dt_ms=dt_ms, secondorder=secondorder,
                           v_init_mV=float(inputs.get("v_init_mV", defaults.v_init_mV)),
                           duration_ms=int(inputs.get("duration_ms", defaults.duration_ms)),
                           record_dendrites=record_dendrites)
    return synapse, settings


def replay(input_path: str | Path, output_path: str | Path | None = None, *, synapse_type: str | None = None,
           inhibitory_type: str = "GABA_A", integrator: str | None = None, dt_ms: float | None = None,
           record_dendrites: bool = False, cell_options: CellOptions = CellOptions(), morphology_path=None) -> dict:
    """Simulate the input pattern in ``input_path``; write the reference output keys to ``output_path``."""
    inputs = load_replay_inputs(input_path)
    synapse, settings = replay_settings(inputs, synapse_type, integrator, dt_ms, record_dendrites)
    log.info("replaying %s: %s synapses, %s", input_path, synapse,
             "CVode" if settings.integrator == "cvode" else f"fixed step {settings.dt_ms} ms")
    with Simulator(synapse, inhibitory_type, cell_options, settings, morphology_path) as simulator:
        result = simulator.run(inputs["ex_seg"], inputs["ex_ms"], inputs["inh_seg"], inputs["inh_ms"])
    output = {key: inputs[key] for key in ("ex_seg", "ex_ms", "inh_seg", "inh_ms")}
    output.update(
        synapse=np.str_(synapse), integrator=np.str_(settings.integrator),
        dt_ms=settings.dt_ms if settings.integrator == "fixed" else -1.0,
        v_init_mV=settings.v_init_mV, duration_ms=settings.duration_ms,
        soma_v_1ms=result.soma_v_low_res.astype(np.float32),
        nexus_v_1ms=result.nexus_v_low_res.astype(np.float32),
        soma_v_8perms=result.soma_v_high_res.astype(np.float32),
        out_spikes=result.output_spike_times_ms.astype(np.float64),
        cpu_seconds=result.cpu_seconds)
    if result.dendritic_v_low_res is not None:
        output["dvt_1ms"] = result.dendritic_v_low_res.astype(np.float16)
    log.info("%d output spikes, %.1f s CPU", result.output_spike_times_ms.size, result.cpu_seconds)
    if output_path is not None:
        try:
            with atomic_write(output_path, "wb") as handle:
                np.savez_compressed(handle, **output)
        except OSError as error:  # a full disk, a read-only folder, a folder under that name: the user's to fix
            raise UserError(f"could not write the replay output {output_path} ({error.strerror or error}); free "
                            "some space or choose another path") from None
    return output

