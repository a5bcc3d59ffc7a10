"""Surrogate speed: the network's prediction of a simulation against the NEURON simulation itself, CPU only.

In one process: (1) the CPU time of one NMDA simulation with NEURON at the dataset's default settings
(``simulate_L5PC_and_create_dataset.py``'s parameter block: fixed 1/16-ms Crank-Nicolson steps, rate tables,
CoreNEURON when built, dendritic voltages recorded), on an input drawn as the dataset generator draws it;
(2) the time to predict that input, and a batch of ``--batch`` inputs, with the shipped network (the latest
checkpoint of ``--model-dir``) and the paper's 7 x 128 TCN (kernels [45] + [19] x 6, 20 DVT components,
random weights: they do not change the time), each dense (the model called on the whole trace in one
causal pass, ``prediction.model_predict_fn``, on inputs densified ``--batch-size`` simulations at a time
as the evaluation does) and with the first layer computed from the input events
(``sparse_prediction.SparseFirstLayerPredictor``). Each model is warmed up before it is timed, and every
time is the best of ``--repeats``; CPU seconds are ``time.process_time`` (all threads), wall seconds
``time.perf_counter``. The speed-up over NEURON is NEURON's CPU time per simulation x batch / the
prediction's CPU time.

    .venv/bin/python benchmarks/bench_surrogate.py                  # pretrained/'s NMDA network, 6 s, batch 128
                                                                    # (about 5 min)
    .venv/bin/python benchmarks/bench_surrogate.py --model-dir models/demo
    .venv/bin/python benchmarks/bench_surrogate.py --model-dir models/demo --duration-sec 1 --batch 4 \\
        --repeats 1                                                 # a smoke check (about 10 s)

Building the cell needs the morphology (``$L5PC_MORPHOLOGY`` or the downloaded copy).
"""
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ["CUDA_VISIBLE_DEVICES"] = ""  # a CPU measurement, whatever the machine has

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from neuron_as_dnn import cli, errors
from neuron_as_dnn.data import dataset_generation
from neuron_as_dnn.evaluation import prediction, sparse_prediction  # noqa: E402
from neuron_as_dnn.learning import models

PARAMS = dict(
    model_dir="pretrained",  # model folder to time (its latest checkpoint), or a folder holding exactly one;
                             # pretrained (the default): the shipped NMDA network
    duration_sec=6,          # of every simulated and predicted input
    batch=128,               # simulations predicted together (the second row of each network)
    batch_inputs="drawn",    # drawn: the generator's next patterns (seeds 0 .. batch-1); tiled: the one input repeated
    batch_size=16,           # simulations per model call, the evaluation scripts' default
    repeats=2,               # each measurement is timed this many times, the best kept
    seed=11,                 # of the inputs (the dataset seed) and of the paper network's random weights
    progress=False,          # kept for the common block: the benchmark shows no progress bar
    log_level="WARNING",     # logging level: DEBUG | INFO | WARNING | ERROR
)
SCRIPT = cli.Script(__file__, PARAMS, description=__doc__, choices={"batch_inputs": ["drawn", "tiled"]})

# The paper's best NMDA network (Fig. 2)
PAPER_FILTER_SIZES, PAPER_FILTERS, PAPER_WINDOW_MS, PAPER_DVT_COMPONENTS = [45] + [19] * 6, 128, 400, 20


def open_shipped_model(model_dir: str):
    """(short name, description, model) of the latest checkpoint of ``--model-dir``; a one-line error naming
    the option otherwise."""
    from neuron_as_dnn import pretrained
    from neuron_as_dnn.learning.model_folder import ModelFolder

    path = Path(model_dir)
    if not path.is_dir():
        raise errors.bad_parameter("model_dir", f"{path}: no such folder; point it at a model folder (e.g. "
                                                f"models/demo after `make demo`)")
    try:
        if path.resolve() == pretrained.PRETRAINED_DIR.resolve():  # one network per synapse type: the NMDA one
            folder = pretrained.open_shipped(path, synapse_type="NMDA")
        else:
            folder = ModelFolder.open_one(path, option="model_dir")
        checkpoint = folder.latest_checkpoint()
        model = folder.load_model(checkpoint)
    except errors.UserError as error:
        message = str(error)
        raise (error if message.startswith(errors.flag("model_dir")) else
               errors.bad_parameter("model_dir", message)) from None
    try:
        name = models.architecture_prefix(folder.synapse_type, folder.architecture)
    except (KeyError, TypeError, ValueError):  # an architecture the folder does not describe: its name will do
        name = folder.name
    return f"shipped {name}", f"{folder.path} (checkpoint {checkpoint.name})", model


def simulate_with_neuron(params: dict):
    """The dataset generator's configuration, its first input pattern's events, the best (CPU, wall) seconds
    of simulating it, the run's result, and the segment table (to draw more patterns)."""
    import simulate_L5PC_and_create_dataset as dataset_script
    from neuron_as_dnn.simulation.simulator import Simulator

    config = dataset_generation.resolve_config(dataset_script.SCRIPT.resolve(dict(
        seed=params["seed"], out_dir=tempfile.gettempdir(), num_simulations=1, duration_sec=params["duration_sec"],
        progress=False)))
    best_cpu = best_wall = np.inf
    # exactly the dataset worker's simulator (dataset_generation._Worker)
    with Simulator(config.excitatory_synapse_type, config.inhibitory_synapse_type, config.cell_options(),
                   config.run_settings(), config.morphology) as simulator:
        table = simulator.cell.segment_table()
        events = dataset_generation.generate_inputs(config, table["length_um"], table["type"], 0).events()
        for _ in range(params["repeats"]):
            cpu, wall = time.process_time(), time.perf_counter()
            result = simulator.run(events["ex_seg"], events["ex_ms"], events["inh_seg"], events["inh_ms"])
            best_cpu = min(best_cpu, time.process_time() - cpu)
            best_wall = min(best_wall, time.perf_counter() - wall)
    return config, events, (best_cpu, best_wall), result, table


def densify(events_list, duration_ms: int, num_channels: int) -> np.ndarray:
    """The dense float32 input (sims, T, channels), as the evaluation fills it from the dataset cache."""
    x = np.zeros((len(events_list), duration_ms, num_channels), np.float32)
    half = num_channels // 2
    for row, events in enumerate(events_list):
        x[row, events["ex_ms"], events["ex_seg"]] = 1
        x[row, events["inh_ms"], half + events["inh_seg"]] = 1
    return x


def dense_path(model, batch_size: int):
    predict_fn = prediction.model_predict_fn(model)
    num_channels = int(model.inputs[0].shape[-1])

    def predict(events_list, duration_ms):
        chunks = [predict_fn(densify(events_list[start:start + batch_size], duration_ms, num_channels))
                  for start in range(0, len(events_list), batch_size)]
        return [np.concatenate(parts) for parts in zip(*chunks)]

    return predict


def sparse_path(predictor, batch_size: int):
    def predict(events_list, duration_ms):
        return predictor.predict(events_list, duration_ms=duration_ms, batch_size=batch_size)

    return predict


def best_time(function, repeats: int) -> tuple[float, float]:
    best_cpu = best_wall = np.inf
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.perf_counter()
        function()
        best_cpu = min(best_cpu, time.process_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
    return best_cpu, best_wall


def multiply_adds_per_ms(model) -> tuple[int, int]:
    """(all Conv1D layers and heads, the first layer alone): multiply-adds per output ms of a dense pass."""
    import keras

    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv1D)]
    first = sparse_prediction.first_conv_layer(model) if convolutions else None
    total = sum(int(np.prod(layer.kernel.shape)) for layer in convolutions)
    return total, int(np.prod(first.kernel.shape)) if first is not None else 0


def paper_model(seed: int, input_density: float):
    """The paper's 7 x 128 TCN with random weights that keep the activations near unit scale (He's gain, the
    first layer's fan-in counted in active inputs, as benchmarks/bench_evaluation.py), so that the comparison of
    the sparse and dense outputs is not one of constants; the weights do not change the time."""
    architecture = models.make_architecture_dict(PAPER_FILTER_SIZES, PAPER_FILTERS, input_window_size=PAPER_WINDOW_MS)
    from bench_evaluation import randomise
    return randomise(models.build_model(architecture, num_dvt_components=PAPER_DVT_COMPONENTS), input_density, seed)


def run(params):
    import keras

    for key in ("duration_sec", "batch", "batch_size", "repeats"):
        if params[key] < 1:
            raise errors.bad_parameter(key, f"must be at least 1, got {params[key]}")
    load_before = os.getloadavg()[0]
    shipped_name, shipped_description, shipped = open_shipped_model(params["model_dir"])  # before the simulation

    config, events, (neuron_cpu, neuron_wall), result, table = simulate_with_neuron(params)
    duration_ms = config.duration_ms
    if params["batch_inputs"] == "drawn":
        batch_events = [events] + [dataset_generation.generate_inputs(config, table["length_um"], table["type"],
                                                                      index).events()
                                   for index in range(1, params["batch"])]
    else:
        batch_events = [events] * params["batch"]

    def density(events_list):
        active = sum(len(np.unique(np.concatenate([e["ex_ms"] * 1278 + e["ex_seg"],
                                                   e["inh_ms"] * 1278 + 639 + e["inh_seg"]])))
                     for e in events_list)
        return active / (len(events_list) * duration_ms * models.NUM_INPUT_CHANNELS)

    single_density, batch_density = density([events]), density(batch_events)
    networks = [(shipped_name, shipped),
                ("paper NMDA_TCN__DxWxT_7x128x153 (random weights)", paper_model(params["seed"], batch_density))]

    rows, descriptions, agreement, ratios = [], [], [], []
    for name, model in networks:
        paths = {"dense": dense_path(model, params["batch_size"])}
        try:
            paths["sparse"] = sparse_path(sparse_prediction.SparseFirstLayerPredictor(model), params["batch_size"])
        except sparse_prediction.UnsupportedModelError as error:
            descriptions.append(f"- {name}: no sparse path ({error})")
        total, first = multiply_adds_per_ms(model)
        sparse_total = total - first + first * batch_density
        descriptions.append(f"- {name}" + (f", {shipped_description}" if model is shipped else "")
                            + f": {models.count_trainable_parameters(model):,} trainable parameters; multiply-adds "
                            f"per output ms: {total:,} dense (first layer {first:,}), {sparse_total:,.0f} with the "
                            f"sparse first layer at the batch's input density")
        outputs = {}
        for path, predict in paths.items():
            # untimed: both batch shapes of the run, so that no timing pays the first call's set-up
            outputs[path] = predict([events], duration_ms)
            predict(batch_events[:min(params["batch_size"], params["batch"])], duration_ms)
            for batch, inputs in ((1, [events]), (params["batch"], batch_events)):
                cpu, wall = best_time(lambda: predict(inputs, duration_ms), params["repeats"])
                rows.append((name, path, batch, cpu, wall))
        if "sparse" in outputs:
            agreement.append(f"- {name}: largest |sparse - dense| on the single input (output std): " + ", ".join(
                f"{head} {np.max(np.abs(a - b)):.1e} ({np.std(a):.2g})" for head, a, b in
                zip(("spike probability", "somatic", "dendritic"), outputs["dense"], outputs["sparse"])))
            for batch in (1, params["batch"]):
                dense_cpu = next(r[3] for r in rows if r[0] == name and r[1] == "dense" and r[2] == batch)
                sparse_cpu = next(r[3] for r in rows if r[0] == name and r[1] == "sparse" and r[2] == batch)
                ratios.append(f"- {name}, batch {batch}: sparse {dense_cpu / sparse_cpu:.2f}x "
                              f"{'faster' if sparse_cpu < dense_cpu else 'slower'} than dense (CPU)")

    ex_events, inh_events = events["ex_seg"].size, events["inh_seg"].size
    print(f"\nNEURON: one {duration_ms / 1000:g}-s NMDA simulation, dataset defaults ({config.run_settings()}, engine "
          f"{result.extra.get('engine')}), dataset seed {params['seed']} input 0: {ex_events:,} excitatory + "
          f"{inh_events:,} inhibitory events, {100 * single_density:.2f} % of the 1278 x {duration_ms} inputs active; "
          f"{result.output_spike_times_ms.size} output spikes")
    print(f"NEURON CPU time per simulation: {neuron_cpu:.2f} s ({neuron_wall:.2f} s wall; integration alone "
          f"{result.cpu_seconds:.2f} s CPU), best of {params['repeats']}")
    print(f"batch of {params['batch']}: "
          + ("the generator's patterns 0 .. {} of the same seed".format(params["batch"] - 1)
             if params["batch_inputs"] == "drawn" else "the same input repeated")
          + f", {100 * batch_density:.2f} % active; {params['batch_size']} simulations per model call; dense inputs "
            f"densified from the events inside the timing, sparse from the events")
    print(f"keras {keras.__version__} ({keras.backend.backend()}), CPU only, {os.cpu_count()} cores; "
          f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; best of {params['repeats']}")
    print("\n".join(descriptions))
    print()
    print("| network | path | batch | CPU s | wall s | CPU s per simulation | speed-up over NEURON (CPU) |")
    print("|---|---|---|---|---|---|---|")
    for name, path, batch, cpu, wall in rows:
        print(f"| {name} | {path} | {batch} | {cpu:.3f} | {wall:.3f} | {cpu / batch:.4f} "
              f"| {neuron_cpu * batch / cpu:.1f}x |")
    print()
    print("\n".join(ratios + agreement))
    return rows


def main(argv=None):
    return SCRIPT.run(run, argv)


if __name__ == "__main__":
    main()
