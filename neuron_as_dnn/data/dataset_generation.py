"""Generating L5PC datasets: random inputs, many simulations (local workers or MPI ranks), one file.

The flow for one dataset file:

1. ``resolve_config`` checks every parameter (before any simulation) and fills in the preset
   (NMDA / AMPA / AMPA_SK rate ranges, excitatory synapse, SK_E2 factor), the seed and the folders;
2. each simulation ``i`` draws its inputs from its own seed, ``simulation_seed(seed, i)``, so the
   file is identical whatever the number of workers or ranks;
3. every finished simulation is saved at once in a work folder beside the output, so an
   interrupted run resumes where it stopped;
4. one process assembles the file in the authors' format (``dataset.write_experiment_file``) and a
   JSON record of the configuration, versions and timing (``configs/<file stem>.json`` beside it), then
   removes the work folder. The file holds no timing, so the same parameters give the same bytes.

One run at a time works on a file (``utils.output_lock`` on its work folder; runs of other files may share the
output folder), and a folder that cannot take the files (no space, no permission) ends the run with one line;
the finished simulations stay for the rerun.
"""
from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import logging
import multiprocessing
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from neuron_as_dnn import paths
from neuron_as_dnn.data import dataset
from neuron_as_dnn.data.dataset import HIGH_RES_SAMPLES_PER_MS
from neuron_as_dnn.errors import ConfigError, UserError, bad_parameter
from neuron_as_dnn.simulation import morphology, synaptic_inputs
from neuron_as_dnn.simulation.cell import CellOptions, EXCITATORY_TYPES, INHIBITORY_TYPES
from neuron_as_dnn.simulation.simulator import INTEGRATORS, RunSettings, Simulator
from neuron_as_dnn.utils import atomic_write, output_lock, write_json, write_provenance

log = logging.getLogger(__name__)

# The three biophysical datasets of the paper: synapse type, input rate ranges and SK_E2 scaling together.
PRESETS = {
    "NMDA": dict(excitatory_synapse_type="NMDA", ske2_mult_factor=1.0,
                 bas_ex_range=[0, 800], bas_inh_diff_range=[-600, 200],
                 apic_ex_range=[0, 800], apic_inh_diff_range=[-600, 200]),
    "AMPA": dict(excitatory_synapse_type="AMPA", ske2_mult_factor=1.0,
                 bas_ex_range=[0, 1900], bas_inh_diff_range=[-1650, 150],
                 apic_ex_range=[0, 2000], apic_inh_diff_range=[-1650, 150]),
    "AMPA_SK": dict(excitatory_synapse_type="AMPA", ske2_mult_factor=0.1,
                    bas_ex_range=[0, 1900], bas_inh_diff_range=[-1500, 300],
                    apic_ex_range=[0, 2000], apic_inh_diff_range=[-1500, 300]),
}
RANGE_KEYS = ("bas_ex_range", "bas_inh_diff_range", "apic_ex_range", "apic_inh_diff_range")


@dataclass(frozen=True)
class GenerationConfig:
    synapse_type: str
    excitatory_synapse_type: str
    inhibitory_synapse_type: str
    ske2_mult_factor: float
    bas_ex_range: list
    bas_inh_diff_range: list
    apic_ex_range: list
    apic_inh_diff_range: list
    num_simulations: int
    duration_sec: int
    dvt: bool
    ih_vshift: float
    active_dendrites: bool
    celsius: float
    interval_options_ms: list
    interval_jitter_ms: int
    sigma_options_ms: list
    sigma_jitter_ms: int
    min_seg_length_um: float
    integrator: str
    dt_ms: float
    secondorder: int
    v_init_mV: float
    rate_tables: bool
    engine: str
    seed: int
    split: str
    out_dir: str
    morphology: str | None = None
    workers: int = field(default=1, compare=False)

    @property
    def duration_ms(self) -> int:
        return int(self.duration_sec * 1000)

    def cell_options(self) -> CellOptions:
        return CellOptions(celsius=self.celsius, ih_vshift=self.ih_vshift,
                           ske2_mult_factor=self.ske2_mult_factor, active_dendrites=self.active_dendrites)

    def run_settings(self) -> RunSettings:
        return RunSettings(integrator=self.integrator, dt_ms=self.dt_ms, secondorder=self.secondorder,
                           v_init_mV=self.v_init_mV, duration_ms=self.duration_ms, record_dendrites=self.dvt,
                           engine=self.engine, rate_tables=self.rate_tables)

    def identity(self) -> dict:
        """What defines the file's content: not the worker count, nor where the (checksummed) morphology lies."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("workers", "morphology")}


def _fail(name: str, problem: str):
    raise bad_parameter(name, problem)


def resolve_config(params: dict) -> GenerationConfig:
    """Validate the script's resolved parameters (``SCRIPT.parse`` or ``SCRIPT.resolve``: presets applied, seed
    drawn) and resolve the output folder and the morphology."""
    p = dict(params)
    if p["excitatory_synapse_type"] not in EXCITATORY_TYPES:
        _fail("excitatory_synapse_type", f"must be one of {EXCITATORY_TYPES}, got {p['excitatory_synapse_type']!r}")
    if p["inhibitory_synapse_type"] not in INHIBITORY_TYPES:
        _fail("inhibitory_synapse_type", f"must be one of {INHIBITORY_TYPES}, got {p['inhibitory_synapse_type']!r}")
    for key in ("num_simulations", "duration_sec", "workers"):
        if not (isinstance(p[key], int) and p[key] >= 1):
            _fail(key, f"must be a positive integer, got {p[key]!r}")
    for key in RANGE_KEYS:
        value = p[key]
        if len(value) != 2:
            _fail(key, f"needs two numbers (low high), got {value!r}")
        if value[0] > value[1]:
            _fail(key, f"range is inverted: low {value[0]} > high {value[1]}")
    for key in ("bas_ex_range", "apic_ex_range"):
        if p[key][0] < 0:
            _fail(key, f"spike counts cannot be negative, got {p[key]!r}")
    for options, jitter in (("interval_options_ms", "interval_jitter_ms"), ("sigma_options_ms", "sigma_jitter_ms")):
        if not p[options] or p[jitter] < 0 or min(p[options]) - (p[jitter] - 1) < 1:
            _fail(options, f"every option minus the jitter ({p[jitter]}) must stay >= 1 ms, got {p[options]}")
    if p["ske2_mult_factor"] < 0:
        _fail("ske2_mult_factor", f"must be >= 0, got {p['ske2_mult_factor']}")
    if p["integrator"] not in INTEGRATORS:
        _fail("integrator", f"must be one of {INTEGRATORS}, got {p['integrator']!r}")
    if p["split"] not in dataset.SPLITS:
        _fail("split", f"must be one of {dataset.SPLITS}, got {p['split']!r}")
    if p["seed"] < 0:
        _fail("seed", f"must be >= 0, got {p['seed']}")
    out_dir = Path(p["out_dir"]) if p["out_dir"] else paths.dataset_dir(p["synapse_type"], p["split"])
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write_probe_{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        _fail("out_dir", f"{out_dir} is not writable ({error.strerror or error})")
    try:
        # found (or downloaded) once here, so that workers and ranks never race to download it
        p["morphology"] = str(morphology.locate(p.get("morphology")))
    except morphology.MorphologyError as error:
        _fail("morphology", str(error))
    fields = {f.name for f in dataclasses.fields(GenerationConfig)}
    config = {k: v for k, v in p.items() if k in fields}
    config.update(out_dir=str(out_dir), seed=int(p["seed"]))
    config = GenerationConfig(**config)
    try:
        config.run_settings()
        config.cell_options()
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return config


def replay_options(params: dict, explicit: set) -> dict:
    """Keyword arguments of ``simulation.replay`` from the script's parameters: only what was
    given explicitly overrides what the replay file names."""
    preset = PRESETS[params["synapse_type"]] if "synapse_type" in explicit else None
    ske2 = params["ske2_mult_factor"]
    if ske2 is None:
        ske2 = preset["ske2_mult_factor"] if preset else 1.0
    return dict(synapse_type=preset["excitatory_synapse_type"] if preset else None,
                inhibitory_type=params["inhibitory_synapse_type"],
                integrator=params["integrator"] if "integrator" in explicit else None,
                dt_ms=params["dt_ms"] if "dt_ms" in explicit else None,
                record_dendrites="dvt" in explicit and params["dvt"],
                cell_options=CellOptions(celsius=params["celsius"], ih_vshift=params["ih_vshift"],
                                         ske2_mult_factor=ske2, active_dendrites=params["active_dendrites"]),
                morphology_path=params["morphology"])


def simulation_seed(seed: int, index: int) -> int:
    """The seed of simulation ``index`` of a file: independent of workers, ranks and order."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint32)[0])


def generate_inputs(config: GenerationConfig, segment_lengths, segment_types, index: int):
    rng = np.random.default_rng(simulation_seed(config.seed, index))
    return synaptic_inputs.generate_l5pc_inputs(
        segment_lengths, segment_types, config.duration_ms, rng,
        interval_options_ms=config.interval_options_ms, interval_jitter=config.interval_jitter_ms,
        sigma_options_ms=config.sigma_options_ms, sigma_jitter=config.sigma_jitter_ms,
        bas_ex_range=config.bas_ex_range, bas_inh_diff_range=config.bas_inh_diff_range,
        apic_ex_range=config.apic_ex_range, apic_inh_diff_range=config.apic_inh_diff_range,
        min_seg_length_um=config.min_seg_length_um)


# -- one worker: a simulator built once, then one simulation per task -------------------------------

class _Worker:
    def __init__(self, config: GenerationConfig, work_dir: Path):
        self.config = config
        self.work_dir = work_dir
        self.simulator = Simulator(config.excitatory_synapse_type, config.inhibitory_synapse_type,
                                   config.cell_options(), config.run_settings(), config.morphology)
        table = self.simulator.cell.segment_table()
        self.segment_lengths, self.segment_types = table["length_um"], table["type"]

    def simulate(self, index: int) -> float:
        pattern = generate_inputs(self.config, self.segment_lengths, self.segment_types, index)
        events = pattern.events()
        result = self.simulator.run(events["ex_seg"], events["ex_ms"], events["inh_seg"], events["inh_ms"])
        arrays = dict(ex_seg=events["ex_seg"], ex_ms=events["ex_ms"], inh_seg=events["inh_seg"],
                      inh_ms=events["inh_ms"], soma=result.soma_v_high_res.astype(np.float32),
                      nexus=result.nexus_v_high_res.astype(np.float32),
                      output_spikes=result.output_spike_times_ms,
                      interval_ms=pattern.interval_ms, sigma_ms=pattern.sigma_ms,
                      cpu_seconds=result.cpu_seconds)
        if result.dendritic_v_low_res is not None:
            arrays["dvt"] = result.dendritic_v_low_res.astype(np.float16)
        with atomic_write(_simulation_path(self.work_dir, index), "wb") as handle:
            np.savez(handle, **arrays)
        return result.cpu_seconds


_worker: _Worker | None = None


_worker_error: BaseException | None = None


def _init_worker(config: GenerationConfig, work_dir: Path) -> None:
    # An exception escaping a Pool initializer makes the pool respawn workers forever:
    # keep it and raise it from the first task instead.
    global _worker, _worker_error
    try:
        _worker = _Worker(config, work_dir)
    except BaseException as error:  # noqa: BLE001
        _worker_error = error


def _simulate_in_worker(index: int) -> tuple[int, float]:
    if _worker_error is not None:
        raise RuntimeError(f"worker setup failed: {_worker_error}") from _worker_error
    return index, _worker.simulate(index)


def _simulation_path(work_dir: Path, index: int) -> Path:
    return work_dir / f"simulation_{index:05d}.npz"


def work_dir_for(config: GenerationConfig) -> Path:
    return Path(config.out_dir) / (f".work_L5PC_{config.synapse_type}_{config.num_simulations}x"
                                   f"{config.duration_sec}s_seed{config.seed}")


def prepare_work_dir(config: GenerationConfig) -> tuple[Path, list[int]]:
    """Create (or reopen, to resume) the work folder; return it and the simulations still to run."""
    work_dir = work_dir_for(config)
    config_path = work_dir / "config.json"
    if config_path.is_file():
        previous = json.loads(config_path.read_text())
        if previous != json.loads(json.dumps(config.identity())):
            changed = sorted(k for k in set(previous) | set(config.identity())
                             if previous.get(k) != json.loads(json.dumps(config.identity())).get(k))
            raise ConfigError(f"{work_dir} holds an interrupted run with other parameters ({', '.join(changed)}); "
                              "rerun with the same parameters to resume it, or delete that folder")
    else:
        work_dir.mkdir(parents=True, exist_ok=True)
        write_json(config_path, config.identity())
    pending = [i for i in range(config.num_simulations) if not _simulation_path(work_dir, i).is_file()]
    done = config.num_simulations - len(pending)
    if done:
        log.info("resuming: %d of %d simulations already in %s", done, config.num_simulations, work_dir)
    return work_dir, pending


# Rough sizes per simulated second (a 128 x 6-s file with dendritic voltages is about 1 GB), kept low so that
# only a folder clearly too small is refused before simulating: a work file, and its share of the dataset file.
BYTES_PER_SIMULATED_SECOND = {True: 1.0e6, False: 0.1e6}


def check_free_space(config: GenerationConfig) -> None:
    """Refuse before simulating when the output folder cannot take the work files still to write and the file."""
    pending = config.num_simulations - len(list(work_dir_for(config).glob("simulation_*.npz")))
    needed = BYTES_PER_SIMULATED_SECOND[config.dvt] * config.duration_sec * (pending + config.num_simulations)
    free = shutil.disk_usage(config.out_dir).free
    if free < needed:
        _fail("out_dir", f"{config.out_dir} has {free / 1e9:.2f} GB free; {config.num_simulations} simulations of "
                         f"{config.duration_sec} s need about {needed / 1e9:.2f} GB: free some space or choose "
                         "another folder")


# what a full, read-only or forbidden output folder raises: the user's to fix, not a bug
DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


@contextlib.contextmanager
def disk_errors_reported(config: GenerationConfig):
    """A write that the output folder refuses (full disk, quota, read-only, permissions) becomes one line that
    says what to do; the finished simulations stay in the work folder, so the rerun resumes."""
    try:
        yield
    except OSError as error:
        if error.errno not in DISK_ERRNOS:
            raise
        work_dir = work_dir_for(config)
        done = len(list(work_dir.glob("simulation_*.npz")))
        raise UserError(f"could not write {error.filename or config.out_dir} ({error.strerror}); free some space "
                        f"(or make {config.out_dir} writable) and rerun the same command: the {done} finished "
                        f"simulation(s) in {work_dir} are kept and the rerun resumes") from None


def run_simulations(config: GenerationConfig, work_dir: Path, indices: list[int], rank: int = 0,
                    progress: bool = True) -> None:
    """Run ``indices`` with ``config.workers`` local processes, each building the cell once."""
    if not indices:
        return
    bar = tqdm(total=len(indices), desc=f"simulations (rank {rank})" if rank else "simulations",
               unit="sim", smoothing=0.1, disable=None if progress else True)
    if config.workers == 1:
        worker = _Worker(config, work_dir)
        for index in indices:
            worker.simulate(index)
            bar.update()
    else:
        # spawn: a fresh interpreter per worker, so no NEURON state is inherited through fork
        context = multiprocessing.get_context("spawn")
        with context.Pool(min(config.workers, len(indices)), initializer=_init_worker,
                          initargs=(config, work_dir)) as pool:
            for _ in pool.imap_unordered(_simulate_in_worker, indices):
                bar.update()
    bar.close()


# -- assembling the file in the authors' format ---------------------------------------------------

def assemble(config: GenerationConfig, work_dir: Path, morphology_params: dict, started: float) -> Path:
    """Write the dataset file from the work folder, then its provenance record (with the run's timing,
    ``started`` being its ``time.perf_counter()``)."""
    simulations, spike_counts, isis, cpu, intervals, sigmas = [], [], [], [], [], []
    n_seg = len(morphology_params["allSegmentsType"])
    for index in range(config.num_simulations):
        with np.load(_simulation_path(work_dir, index)) as saved:
            pattern = synaptic_inputs.InputPattern.from_events(
                saved["ex_seg"], saved["ex_ms"], saved["inh_seg"], saved["inh_ms"], n_seg, n_seg, config.duration_ms)
            spikes = saved["output_spikes"]
            sim = {"somaVoltageHighRes": saved["soma"], "nexusVoltageHighRes": saved["nexus"],
                   "somaVoltageLowRes": saved["soma"][::HIGH_RES_SAMPLES_PER_MS],
                   "nexusVoltageLowRes": saved["nexus"][::HIGH_RES_SAMPLES_PER_MS],
                   "exInputSpikeTimes": pattern.ex, "inhInputSpikeTimes": pattern.inh, "outputSpikeTimes": spikes}
            if config.dvt:
                sim["dendriticVoltagesLowRes"] = saved["dvt"]
            simulations.append(sim)
            spike_counts.append(int(spikes.size))
            isis.extend(np.float64(v) for v in np.diff(spikes))
            cpu.append(float(saved["cpu_seconds"]))
            intervals.append(int(saved["interval_ms"]))
            sigmas.append(int(saved["sigma_ms"]))
    total_spikes = int(sum(spike_counts))
    total_seconds = config.num_simulations * config.duration_sec
    isi = np.asarray(isis, dtype=np.float64)
    params = {
        "randomSeed": int(config.seed),
        "numSimulations": int(config.num_simulations),
        "totalSimDurationInSec": int(config.duration_sec),
        "collectAndSaveDVTs": bool(config.dvt),
        "numSamplesPerMS_HighRes": HIGH_RES_SAMPLES_PER_MS,
        "excitatorySynapseType": config.excitatory_synapse_type,
        "inhibitorySynapseType": config.inhibitory_synapse_type,
        "useActiveDendrites": bool(config.active_dendrites),
        "Ih_vshift": int(config.ih_vshift) if float(config.ih_vshift).is_integer() else float(config.ih_vshift),
        "inst_rate_sampling_time_interval_options_ms": [int(v) for v in config.interval_options_ms],
        "num_bas_ex_spikes_per_100ms_range": [int(v) for v in config.bas_ex_range],
        "num_bas_ex_inh_spike_diff_per_100ms_range": [int(v) for v in config.bas_inh_diff_range],
        "num_apic_ex_spikes_per_100ms_range": [int(v) for v in config.apic_ex_range],
        "num_apic_ex_inh_spike_diff_per_100ms_range": [int(v) for v in config.apic_inh_diff_range],
        **morphology_params,
        "ISICV": np.float64(isi.std() / isi.mean()) if isi.size else np.float64(np.nan),
        "listOfISIs": isis,
        "numOutputSpikesPerSim": spike_counts,
        "totalNumOutputSpikes": total_spikes,
        "totalNumSimulationSeconds": int(total_seconds),
        "averageOutputFrequency": float(total_spikes / total_seconds),
        # the authors' key is kept for their readers, but not the time: the record beside the file has it
        "entireExperimentDurationInMinutes": float("nan"),
        # Beyond the authors' keys: what regenerates every simulation and how it was run.
        "temporal_inst_rate_smoothing_sigma_options_ms": [int(v) for v in config.sigma_options_ms],
        "inst_rate_sampling_time_interval_jitter_range": int(config.interval_jitter_ms),
        "temporal_inst_rate_smoothing_sigma_jitter_range": int(config.sigma_jitter_ms),
        "min_seg_length_um": float(config.min_seg_length_um),
        "perSimulationSeeds": [simulation_seed(config.seed, i) for i in range(config.num_simulations)],
        "perSimulationInstRateSamplingIntervalMs": intervals,
        "perSimulationSmoothingSigmaMs": sigmas,
        "biophysicalType": config.synapse_type,
        "SKE2_mult_factor": float(config.ske2_mult_factor),
        "celsius": float(config.celsius),
        "integrator": config.integrator,
        "dt_ms": float(config.dt_ms) if config.integrator == "fixed" else -1.0,
        "secondorder": int(config.secondorder),
        "v_init_mV": float(config.v_init_mV),
        "engine": config.run_settings().resolved_engine(),
        "rate_tables": bool(config.rate_tables),
    }
    path = Path(config.out_dir) / dataset.dataset_file_name(params)
    dataset.write_experiment_file(path, params, simulations)
    # not beside the file: its name would match the readers' glob *_simulationRuns*_secDuration_*
    write_provenance(config_path_for(path), config.identity(), workers=config.workers,
                     wall_seconds=time.perf_counter() - started, cpu_seconds_total=float(sum(cpu)),
                     per_simulation_cpu_seconds=cpu, output_spikes=total_spikes)
    return path


def finished_file(config: GenerationConfig) -> Path | None:
    """The dataset file this configuration already wrote into its folder (its provenance record holds the same
    parameters), or None: a rerun of a finished command then has nothing to do."""
    identity = json.loads(json.dumps(config.identity()))
    identity.pop("out_dir", None)  # the same folder may be named differently (relative, absolute)
    pattern = f"{dataset.dataset_glob_pattern(config.num_simulations, config.duration_sec)}randomSeed_{config.seed}.p"
    for path in sorted(Path(config.out_dir).glob(pattern)):
        try:
            recorded = dict(json.loads(config_path_for(path).read_text())["params"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # no record (e.g. the authors' file): not known to be this configuration's
        recorded.pop("out_dir", None)
        if recorded == identity:
            return path
    return None


def config_path_for(dataset_path: Path) -> Path:
    """The JSON record of how a dataset file was made: ``<folder>/configs/<file stem>.json``."""
    return dataset_path.parent / "configs" / f"{dataset_path.stem}.json"


# -- the whole job, locally or under MPI ----------------------------------------------------------

def _mpi_communicator():
    """mpi4py's COMM_WORLD when launched by mpiexec with more than one rank, else None."""
    if not any(os.environ.get(v) for v in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")):
        return None
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    return comm if comm.Get_size() > 1 else None


def generate_dataset(config: GenerationConfig, progress: bool = True) -> Path | None:
    """Run every simulation of one file and write it. Under MPI, ranks share the simulations
    (round robin) and rank 0 writes the file; returns the path on the writing process.

    Rank 0 holds the work folder's lock (``utils.output_lock``) for the whole run, so a second run of the
    same file refuses while this one runs, and a run killed before takes over its lock when rerun."""
    comm = _mpi_communicator()
    rank, size = (comm.Get_rank(), comm.Get_size()) if comm else (0, 1)
    start = time.perf_counter()
    with disk_errors_reported(config), contextlib.ExitStack() as held:
        plan = None
        if rank == 0:
            try:
                finished = finished_file(config)
                if finished is not None:
                    log.info("already written by the same parameters: %s (delete it to simulate it again)",
                             finished)
                    return finished
                check_free_space(config)
                work_dir_for(config).mkdir(parents=True, exist_ok=True)
                held.enter_context(output_lock(work_dir_for(config), "simulate_L5PC_and_create_dataset.py"))
                plan = prepare_work_dir(config)
                log.info("%d simulations of %d s (%s, %s), %s", config.num_simulations, config.duration_sec,
                         config.synapse_type, "CVode" if config.integrator == "cvode" else f"dt {config.dt_ms} ms",
                         f"{size} MPI ranks" if comm else f"{config.workers} worker(s)")
            finally:
                # also when rank 0 refuses: the other ranks then stop instead of waiting for it
                if comm:
                    comm.bcast(plan, root=0)
        else:
            plan = comm.bcast(None, root=0)
        if plan is None:
            return None
        work_dir, pending = plan
        run_simulations(config, work_dir, pending[rank::size], rank, progress)
        if comm:
            comm.Barrier()
        if rank != 0:
            return None
        from neuron_as_dnn.simulation.cell import L5PC
        morphology_params = L5PC(config.morphology, config.cell_options()).dataset_morphology_params()
        path = assemble(config, work_dir, morphology_params, start)
        shutil.rmtree(work_dir)
    log.info("dataset written: %s", path)
    return path
