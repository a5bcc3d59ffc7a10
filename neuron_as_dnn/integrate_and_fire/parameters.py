"""The integrate-and-fire run's parameters checked before any work (and before Keras loads: a mistake is
reported in a second, not after the 10-30 s of importing TensorFlow)."""
from __future__ import annotations

import numpy as np

from neuron_as_dnn import errors
from neuron_as_dnn.integrate_and_fire import figures

PREDICTION_MODES = ("overlapping_windows", "single_pass")
POSITIVE_INTEGERS = ("num_train_simulations", "num_test_simulations", "num_training_subsets", "batch_size",
                     "num_exc_synapses", "input_window_size_ms", "filter_size_ms", "num_filters", "num_layers",
                     "dilation_rate", "data_chunk_size", "xcorr_half_window_ms")


def duration_ms(params: dict) -> int:
    """The simulation length in ms (the block gives it in seconds, as every script of the project)."""
    return int(round(1000 * params["duration_sec"]))


def validate_params(params: dict) -> None:
    """Fail early, naming the parameter as its option, before any long work starts."""
    def require(condition: bool, name: str, problem: str) -> None:
        if not condition:
            raise errors.bad_parameter(name, f"{problem}, got {params.get(name)!r}")

    for name in POSITIVE_INTEGERS:
        value = params[name]
        require(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0, name,
                "must be a positive integer")
    require(params["num_inh_synapses"] >= 0, "num_inh_synapses", "must be >= 0")
    require(params["membrane_time_const_ms"] > 0, "membrane_time_const_ms", "must be > 0")
    require(params["v_threshold"] > params["v_reset"], "v_threshold", "must be above v_reset")
    seconds = params["duration_sec"]
    require(isinstance(seconds, (int, float)) and seconds > 0 and float(1000 * seconds).is_integer(), "duration_sec",
            "must be a positive whole number of milliseconds")
    window = params["input_window_size_ms"]
    require(window + 1 < duration_ms(params), "input_window_size_ms",
            f"must be shorter than the simulation minus 1 ms ({duration_ms(params) - 1} ms)")
    require(params["filter_size_ms"] <= window, "filter_size_ms", "must not exceed input_window_size_ms")
    require(params["prediction_mode"] in PREDICTION_MODES, "prediction_mode", f"must be one of {PREDICTION_MODES}")
    require(0 <= params["prediction_overlap_ms"] < window, "prediction_overlap_ms",
            "must lie in [0, input_window_size_ms)")
    receptive_field = params["num_layers"] * (params["filter_size_ms"] - 1) * params["dilation_rate"] + 1
    require(params["prediction_overlap_ms"] >= receptive_field - 1 or params["prediction_mode"] == "single_pass",
            "prediction_overlap_ms", f"must be >= receptive field - 1 = {receptive_field - 1} for exact traces")
    require(0.0 <= params["validation_fraction"] < 1.0, "validation_fraction", "must lie in [0, 1)")
    require(params["validation_fraction"] == 0 or params["num_train_simulations"] >= 2, "num_train_simulations",
            "needs >= 2 simulations to hold some out for validation")
    require(0.0 < params["desired_fp_rate"] < 1.0, "desired_fp_rate", "must lie in (0, 1)")
    require(params["learning_rate"] is not None and params["learning_rate"] > 0, "learning_rate", "must be > 0")
    require(len(params["loss_weights"]) == 2, "loss_weights", "needs two values: spikes, soma")
    for name in ("num_exc_spikes_per_100ms_range", "num_exc_inh_spike_diff_per_100ms_range"):
        require(len(params[name]) == 2 and params[name][0] <= params[name][1], name, "needs [low, high], low <= high")
    require(params["num_exc_spikes_per_100ms_range"][0] >= 0, "num_exc_spikes_per_100ms_range", "counts must be >= 0")
    figures.validate_figure_options(params)
