"""The layer-5 pyramidal cell (Hay et al. 2011, Shai et al. 2015 biophysics) in NEURON, built from Python.

``L5PC`` imports the Neurolucida reconstruction, applies the original model's geometry rules
(odd nseg per 40 um, a 2 x 30 um axon stub) and its biophysics, read as data from
``L5PC_NEURON_simulation/L5PC_biophysics.json``, and keeps the bookkeeping of its 639 dendritic
segments (basal ``dend[0..83]`` then apical ``apic[0..108]``, increasing x within a section) that
the datasets' ``Params`` record. ``SynapseSet`` puts one excitatory and one inhibitory synapse at
the centre of every dendritic segment.
"""
from __future__ import annotations

import json
import logging
import math
import os
import weakref
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from neuron_as_dnn.errors import ConfigError
from neuron_as_dnn.paths import MECHANISMS_DIR, NEURON_MODEL_DIR
from neuron_as_dnn.simulation import morphology

log = logging.getLogger(__name__)

BIOPHYSICS_FILE = NEURON_MODEL_DIR / "L5PC_biophysics.json"
EXCITATORY_TYPES = ("NMDA", "AMPA")
INHIBITORY_TYPES = ("GABA_A", "GABA_B")


class MechanismsNotCompiledError(RuntimeError):
    pass


@lru_cache(maxsize=None)
def load_biophysics() -> dict:
    return json.loads(BIOPHYSICS_FILE.read_text())


_h = None


def compiled_mechanisms_dir() -> Path:
    """Where ``nrnivmodl`` put the compiled mechanisms (a folder named after the machine)."""
    import platform
    folder = mechanisms_build_dir() / platform.machine()
    if not (folder / "libnrnmech.so").is_file():
        raise MechanismsNotCompiledError(
            f"the NMODL mechanisms in {MECHANISMS_DIR} are not compiled: run `make setup` "
            f"(or `cd {NEURON_MODEL_DIR} && nrnivmodl -coreneuron mechanisms`)")
    return folder


def mechanisms_build_dir() -> Path:
    """The folder in which ``nrnivmodl`` ran: this project's by default; $L5PC_MECHANISMS_BUILD
    selects another build of the same mechanisms (benchmarks compare compiler flags this way)."""
    override = os.environ.get("L5PC_MECHANISMS_BUILD")
    return Path(override) if override else NEURON_MODEL_DIR


def neuron_h():
    """NEURON's ``h`` with the standard library, Import3d and this project's mechanisms loaded."""
    global _h
    if _h is not None:
        return _h
    # without a display NEURON prints two warning lines on stderr, which would bury a script's one-line error
    os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")
    from neuron import h, load_mechanisms

    if not hasattr(h, "AmpaNmdaSynapse"):
        compiled_mechanisms_dir()
        load_mechanisms(str(mechanisms_build_dir()), warn_if_already_loaded=False)
        if not hasattr(h, "AmpaNmdaSynapse"):
            raise MechanismsNotCompiledError(
                f"loading the compiled mechanisms from {mechanisms_build_dir()} failed: recompile them with "
                f"`make setup`")
    h.load_file("stdrun.hoc")
    h.load_file("import3d.hoc")
    _h = h
    return h


@dataclass(frozen=True)
class CellOptions:
    """Variants of the cell. Defaults reproduce the authors' datasets."""
    celsius: float = 6.3  # never set by the original, so NEURON's default; only eca depends on it
    ih_vshift: float = 0.0  # mV, applied to Ih in the soma and all dendrites
    ske2_mult_factor: float = 1.0  # scales SK_E2 in soma, axon and apical tree (0.1: the "AMPA_SK" data)
    active_dendrites: bool = True  # False: basal and apical trees keep only the passive leak

    def __post_init__(self):
        if not self.ske2_mult_factor >= 0:
            raise ConfigError(f"ske2_mult_factor must be >= 0, got {self.ske2_mult_factor}")
        if not math.isfinite(self.celsius):
            raise ConfigError(f"celsius must be finite, got {self.celsius}")


class L5PC:
    """One instance of the cell. Several can coexist; sections die with the object (or ``delete``)."""

    def __init__(self, morphology_path: str | Path | None = None, options: CellOptions = CellOptions()):
        h = neuron_h()
        self.h = h
        self.options = options
        self.morphology_path = morphology.locate(morphology_path)
        self.biophysics = load_biophysics()
        self._import_morphology()
        self._set_nseg()
        self._replace_axon()
        self._insert_biophysics()
        h.celsius = options.celsius
        self.nexus = self._nexus_segment()
        self.segments = [seg for sec in self.dendritic_sections for seg in sec]
        log.debug("built L5PC: %d basal + %d apical sections, %d dendritic segments",
                  len(self.dend), len(self.apic), len(self.segments))

    def __repr__(self) -> str:
        return "L5PC"

    def delete(self) -> None:
        """Delete the sections now, even where something still refers to them: NEURON integrates
        every section that exists, so a cell kept alive by a stray reference slows every later run."""
        for sec in self.all_sections:
            self.h.delete_section(sec=sec)

    # -- geometry -------------------------------------------------------------------------------
    def _import_morphology(self) -> None:
        h = self.h
        reader = h.Import3d_Neurolucida3()
        reader.quiet = 1
        reader.input(str(self.morphology_path))
        h.Import3d_GUI(reader, False).instantiate(self)
        self.soma = self.soma[0]
        for sec in self.all:
            if sec.diam == 0:  # guard from the original template; cell1.asc has none
                log.warning("section %s has zero diameter, set to 1 um", sec.name())
                sec.diam = 1

    def _set_nseg(self) -> None:
        # A plain length rule (not d_lambda): an odd number of segments, two per started 40 um.
        self.soma.diam  # touching diam makes NEURON compute it from the 3-D points first
        per_pair = self.biophysics["nseg_um_per_pair"]
        for sec in self.all:
            sec.nseg = 1 + 2 * int(sec.L / per_pair)

    def _replace_axon(self) -> None:
        h = self.h
        stub = self.biophysics["axon_stub"]
        for sec in list(self.axon):
            h.delete_section(sec=sec)
        self.axon = [h.Section(name=f"axon[{i}]", cell=self) for i in range(stub["n_sections"])]
        for sec in self.axon:
            sec.L = stub["L"]
            sec.diam = stub["diam"]
            sec.nseg = 1 + 2 * int(sec.L / self.biophysics["nseg_um_per_pair"])
        self.axon[0].connect(self.soma(0.5), 0)
        for parent, child in zip(self.axon, self.axon[1:]):
            child.connect(parent(1), 0)

    @property
    def dendritic_sections(self) -> list:
        return list(self.dend) + list(self.apic)

    @property
    def all_sections(self) -> list:
        return [self.soma] + list(self.axon) + self.dendritic_sections

    def region_sections(self, region: str) -> list:
        return {"somatic": [self.soma], "axonal": list(self.axon), "basal": list(self.dend),
                "apical": list(self.apic)}[region]

    # -- biophysics -----------------------------------------------------------------------------
    def _insert_biophysics(self) -> None:
        bio = self.biophysics
        common = bio["all_sections"]
        for sec in self.all_sections:
            sec.insert("pas")
            sec.cm = common["cm"]
            sec.Ra = common["Ra"]
            for seg in sec:
                seg.pas.e = common["e_pas"]
        dendritic = ("basal", "apical")
        for region, spec in bio["regions"].items():
            active = self.options.active_dendrites or region not in dendritic
            for sec in self.region_sections(region):
                sec.cm = spec["cm"]
                for seg in sec:
                    seg.pas.g = spec["g_pas"]
                if not active:
                    continue
                for mechanism, values in spec["mechanisms"].items():
                    sec.insert(mechanism)
                    for name, value in values.items():
                        for seg in sec:
                            setattr(getattr(seg, mechanism), name, value)
                if sec.has_membrane("k_ion"):
                    sec.ek = bio["active_ions"]["ek"]
                if sec.has_membrane("na_ion"):
                    sec.ena = bio["active_ions"]["ena"]
        if self.options.active_dendrites:
            self._distribute_apical_channels()
        self._apply_variant_scalings()

    def longest_apical_path(self) -> float:
        """Largest path distance from apic[0](0) to the far end of a terminal apical section."""
        origin = self.apic[0](0)
        return max(self.h.distance(origin, sec(1)) for sec in self.apic if len(sec.children()) == 0)

    def _distribute_apical_channels(self) -> None:
        h = self.h
        origin = self.apic[0](0)  # sits at soma(0.5); the original measures from here
        max_length = self.longest_apical_path()
        for parameter, rule in self.biophysics["apical_distributions"].items():
            if parameter.startswith("_"):
                continue
            for sec in self.apic:
                segments = list(sec)
                for index, seg in enumerate(segments):
                    # The original assigns a value at every x of for(x), the end points 0 and 1
                    # included, so the value computed at x = 1 overwrites the last segment's
                    # centre value. We keep that quirk: the last segment gets the distal end value.
                    x = 1.0 if index == len(segments) - 1 else seg.x
                    distance = h.distance(origin, sec(x))
                    setattr(seg, parameter, _distribution_value(rule, distance, distance / max_length))

    def _apply_variant_scalings(self) -> None:
        opts = self.options
        for sec in [self.soma] + self.dendritic_sections:
            if sec.has_membrane("Ih"):
                for seg in sec:
                    seg.Ih.vshift = opts.ih_vshift
        for sec in [self.soma] + list(self.axon) + list(self.apic):
            if sec.has_membrane("SK_E2"):
                for seg in sec:
                    seg.SK_E2.gSK_E2bar *= opts.ske2_mult_factor

    def _nexus_segment(self):
        spec = self.biophysics["nexus"]
        return getattr(self, spec["section"])[spec["index"]](spec["x"])

    # -- bookkeeping ----------------------------------------------------------------------------
    def segment_table(self) -> dict:
        """Per-dendritic-segment arrays, in the datasets' order (basal then apical).

        ``dist_from_soma_um`` is the datasets' definition (path distance from soma(0) to the
        section start, plus L*x); ``path_distance_um`` is NEURON's path distance from soma(0.5)
        to the segment centre.
        """
        h = self.h
        soma_start, soma_centre = self.soma(0), self.soma(0.5)
        section_index, seg_type, length, x, dist, section_dist, path = [], [], [], [], [], [], []
        for k, sec in enumerate(self.dendritic_sections):
            start = h.distance(soma_start, sec(0))
            kind = "basal" if k < len(self.dend) else "apical"
            for seg in sec:
                section_index.append(k)
                seg_type.append(kind)
                length.append(sec.L / sec.nseg)
                x.append(seg.x)
                dist.append(start + sec.L * seg.x)
                section_dist.append(start)
                path.append(h.distance(soma_centre, seg))
        return {"section_index": np.array(section_index), "type": seg_type,
                "length_um": np.array(length), "x": np.array(x),
                "dist_from_soma_um": np.array(dist), "section_dist_from_soma_um": np.array(section_dist),
                "path_distance_um": np.array(path)}

    def dataset_morphology_params(self) -> dict:
        """The morphology keys of a dataset's ``Params`` (authors' names, plain Python types)."""
        h = self.h
        soma_start = self.soma(0)
        sections = self.dendritic_sections
        table = self.segment_table()
        return {
            "allSectionsType": ["basal"] * len(self.dend) + ["apical"] * len(self.apic),
            "allSections_DistFromSoma": [float(h.distance(soma_start, sec(0))) for sec in sections],
            "allSectionsLength": [float(sec.L) for sec in sections],
            "allSegmentsType": list(table["type"]),
            "allSegmentsLength": [float(v) for v in table["length_um"]],
            "allSegments_DistFromSoma": [float(v) for v in table["dist_from_soma_um"]],
            "allSegments_SectionDistFromSoma": [float(v) for v in table["section_dist_from_soma_um"]],
            "allSegments_SectionInd": [int(v) for v in table["section_index"]],
        }


def _distribution_value(rule: dict, distance_um: float, normalised_distance: float) -> float:
    kind = rule["kind"]
    if kind == "exponential_plateau":
        dn = min(normalised_distance, rule["plateau_from"])
        return rule["scale"] * (rule["a"] + rule["b"] * math.exp(rule["k"] * dn))
    if kind == "step":
        inside = rule["lo_um"] < distance_um < rule["hi_um"]
        return rule["scale"] * (rule["inside"] if inside else rule["outside"])
    raise ValueError(f"unknown distribution kind {kind!r} in {BIOPHYSICS_FILE}")


class SynapseSet:
    """One excitatory and one inhibitory synapse at the centre of every dendritic segment.

    Events are queued with ``NetCon.event`` from an FInitializeHandler, so a new input pattern
    only replaces the event lists (``set_inputs``); the 1278 point processes are built once.
    """

    def __init__(self, cell: L5PC, excitatory_type: str = "NMDA", inhibitory_type: str = "GABA_A"):
        if excitatory_type not in EXCITATORY_TYPES:
            raise ValueError(f"excitatory synapse type must be one of {EXCITATORY_TYPES}, got {excitatory_type!r}")
        if inhibitory_type not in INHIBITORY_TYPES:
            raise ValueError(f"inhibitory synapse type must be one of {INHIBITORY_TYPES}, got {inhibitory_type!r}")
        h = cell.h
        self.cell = cell
        self.excitatory_type = excitatory_type
        self.inhibitory_type = inhibitory_type
        specs = cell.biophysics["synapses"]
        self.excitatory = [_make_synapse(h, seg, specs[excitatory_type]) for seg in cell.segments]
        self.inhibitory = [_make_synapse(h, seg, specs[inhibitory_type]) for seg in cell.segments]
        self.netcons = [_netcon(h, syn) for syn in self.excitatory + self.inhibitory]
        self._event_times: list[np.ndarray] = [np.empty(0)] * len(self.netcons)
        self._handler = h.FInitializeHandler(_weak_callback(self._queue_events))

    def close(self) -> None:
        """Release the event handler, NetCons and point processes (the synapses leave their segments)."""
        self._handler = None
        self.netcons, self.excitatory, self.inhibitory = [], [], []
        self._event_times = []

    def set_inputs(self, ex_segments, ex_times_ms, inh_segments, inh_times_ms) -> None:
        """Replace the input events: parallel arrays of segment index and time (ms) per kind."""
        n = len(self.cell.segments)
        ex_segments = np.asarray(ex_segments, dtype=np.int64)
        inh_segments = np.asarray(inh_segments, dtype=np.int64)
        for segments in (ex_segments, inh_segments):
            if segments.size and (segments.min() < 0 or segments.max() >= n):
                raise ValueError(f"input segment indices must lie in [0, {n})")
        channels = np.concatenate([ex_segments, inh_segments + n])
        times = np.concatenate([np.asarray(ex_times_ms, dtype=float), np.asarray(inh_times_ms, dtype=float)])
        order = np.lexsort((times, channels))
        channels, times = channels[order], times[order]
        bounds = np.searchsorted(channels, np.arange(2 * n + 1))
        self._event_times = [times[bounds[c]:bounds[c + 1]] for c in range(2 * n)]

    def _queue_events(self) -> None:
        for netcon, times in zip(self.netcons, self._event_times):
            for t in times:
                netcon.event(t)


def _weak_callback(method):
    """A callable for NEURON that does not keep ``method``'s object alive. NEURON's handler holds
    its callable, and Python's collector cannot see through NEURON objects: with the bound method
    itself, the set and its handler would keep each other (and the whole cell) alive forever."""
    reference = weakref.WeakMethod(method)

    def call():
        bound = reference()
        if bound is not None:
            bound()
    return call


def _make_synapse(h, seg, spec: dict):
    syn = getattr(h, spec["mechanism"])(seg)
    for name, value in spec.items():
        if name != "mechanism":
            setattr(syn, name, value)
    return syn


def _netcon(h, syn):
    netcon = h.NetCon(None, syn)
    netcon.weight[0] = 1.0
    # NetCon.event(t) delivers at t whatever the delay; a positive delay only satisfies
    # CoreNEURON's minimum-delay check (the original used 0).
    netcon.delay = 1.0
    return netcon
