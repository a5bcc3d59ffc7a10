"""The script contract (neuron_as_dnn.cli): presets, block edits, command line, errors, provenance."""
import ast
import json
import os
import subprocess
import sys

import pytest

from neuron_as_dnn import cli, errors, utils
from neuron_as_dnn.paths import REPO_ROOT

PRESETS = {"architecture": {"small": {"sizes": [5, 3], "width": 8}, "large": {"sizes": [9, 7, 7], "width": 64}}}


def make_script(**changes):
    block = dict(architecture="small", sizes=None, width=None, seed=None, out_dir=None, progress=True,
                 log_level="INFO")
    block.update(changes)
    return cli.Script("toy.py", block, presets=PRESETS)


def test_preset_fills_only_unset_entries():
    params = make_script().parse(["--architecture", "large"])
    assert params["sizes"] == [9, 7, 7] and params["width"] == 64


def test_explicit_option_wins_over_the_preset_even_when_it_equals_another_default():
    params = make_script().parse(["--architecture", "large", "--sizes", "5", "3"])
    assert params["sizes"] == [5, 3] and params["width"] == 64


def test_entry_edited_in_the_block_wins_over_the_preset():
    params = make_script(width=32).parse(["--architecture", "large"])
    assert params["width"] == 32 and params["sizes"] == [9, 7, 7]


def test_types_of_unset_entries_come_from_the_presets():
    params = make_script().parse(["--width", "12", "--sizes", "4", "4"])
    assert params["width"] == 12 and params["sizes"] == [4, 4]


def test_parse_returns_the_explicit_entries_with_the_parameters():
    params = make_script().parse(["--architecture", "large", "--width", "8"])
    assert params.explicit == {"architecture", "width"}
    assert params.copy().explicit == params.explicit and params.copy() == params


def test_every_unset_default_is_resolved_once_and_written_back():
    calls = []

    def defaults(params):
        calls.append(dict(params))
        params["out_dir"] = params["out_dir"] or f"out_{params['width']}"

    script = cli.Script("toy.py", make_script().params, presets=PRESETS, defaults=defaults)
    params = script.parse(["--architecture", "large"])
    assert len(calls) == 1 and calls[0]["width"] == 64  # after the presets
    assert params["out_dir"] == "out_64"
    assert isinstance(params["seed"], int) and 0 <= params["seed"] < cli.SEED_RANGE  # drawn, then recorded
    assert script.parse(["--seed", "5"])["seed"] == 5
    assert len({script.parse([])["seed"] for _ in range(5)}) > 1  # a fresh draw each run


def test_code_resolves_a_block_as_the_command_line_does():
    script = make_script()
    from_code = script.resolve({"architecture": "large", "sizes": [5, 3], "seed": 2})
    from_command_line = script.parse(["--architecture", "large", "--sizes", "5", "3", "--seed", "2"])
    assert from_code == from_command_line
    with pytest.raises(KeyError, match="not in the parameter block"):
        script.resolve({"no_such_entry": 1})


def test_user_error_is_one_line_with_status_2(capsys):
    def main(params):
        raise errors.bad_parameter("width", "must be positive, got -1")

    with pytest.raises(SystemExit) as stop:
        make_script().run(main, [])
    assert stop.value.code == 2
    assert capsys.readouterr().err == "toy.py: error: --width: must be positive, got -1\n"


def test_internal_error_keeps_its_traceback():
    def main(params):
        return {}["missing"]

    with pytest.raises(KeyError):
        make_script().run(main, [])


def test_bad_log_level_is_a_user_error(capsys):
    with pytest.raises(SystemExit) as stop:
        make_script().run(lambda params: None, ["--log-level", "LOUD"])
    assert stop.value.code == 2 and "--log-level" in capsys.readouterr().err


def test_provenance_records_command_line_params_and_commit(tmp_path):
    script = make_script()
    params = script.parse(["--architecture", "large", "--seed", "3"])
    record = utils.write_provenance(tmp_path / "config.json", params, extra_entry=1)
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored == json.loads(json.dumps(record))
    assert stored["script"] == "toy.py"
    assert stored["command_line"] == "python toy.py --architecture large --seed 3"
    assert stored["params"]["sizes"] == [9, 7, 7] and stored["params"]["seed"] == 3
    assert stored["extra_entry"] == 1
    assert stored["git_commit"] is None or len(stored["git_commit"].split("+")[0]) == 40
    assert "numpy" in stored["environment"]


# Every top-level script: the common entries, and a user's mistake as one line with exit status 2.
SCRIPTS = {
    "simulate_L5PC_and_create_dataset.py": ["--num-simulations", "-1"],
    "integrate_and_fire_figure_replication.py": ["--out-dir", "/dev/null"],
    "dataset_exploration.py": ["--data-dir", "no_such_folder"],
    "fit_CNN.py": ["--train-data-dir", "no_such_folder"],
    "evaluate_CNN_valid.py": ["--models-dir", "no_such_folder"],
    "evaluate_CNN_test.py": ["--models-dir", "no_such_folder"],
    "valid_fitting_results_exploration.py": ["--models-dir", "no_such_folder"],
    "test_accuracy_vs_complexity.py": ["--models-dir", "no_such_folder"],
    "main_figure_replication.py": ["--model-dir", "no_such_folder"],
}


def load_block(script_name):
    source = (REPO_ROOT / script_name).read_text()
    namespace = {}
    exec(compile(source.split("\nPARAMS = ", 1)[1].split("\n)\n", 1)[0].join(["PARAMS = ", "\n)\n"]), script_name,
                 "exec"), namespace)
    return namespace["PARAMS"]


@pytest.mark.parametrize("script_name", sorted(SCRIPTS))
def test_every_script_has_the_common_entries(script_name):
    block = load_block(script_name)
    for name in cli.COMMON_ENTRIES:
        assert name in block, f"{script_name} lacks {name}"
    assert not any(name.endswith("progress_bar") or name in ("random_seed", "output_dir") for name in block)


@pytest.mark.parametrize("script_name", sorted(SCRIPTS))
def test_user_error_in_every_script_is_one_line(script_name, tmp_path):
    """Nothing but the error reaches stderr: no TensorFlow start-up lines, no warnings, no log lines."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TF_")}
    result = subprocess.run([sys.executable, str(REPO_ROOT / script_name), *SCRIPTS[script_name]],
                            cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()], result.stderr
    assert result.stderr.startswith(f"{script_name}: error: ")
    assert list(tmp_path.iterdir()) == []  # refused before any work


# every parameter block of the project: the scripts, and the modules run with `python -m`
PARAMETER_BLOCKS = [REPO_ROOT / name for name in sorted(SCRIPTS)] + [
    REPO_ROOT / "neuron_as_dnn" / name for name in ("data/authors_data.py", "simulation/morphology.py", "pretrained.py")]


@pytest.mark.parametrize("path", PARAMETER_BLOCKS, ids=lambda path: path.name)
def test_every_option_is_explained_by_its_comment_in_the_block(path):
    source = path.read_text()
    blocks = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)
              and getattr(node.func, "id", None) == "dict" and any(kw.arg == "log_level" for kw in node.keywords)]
    assert len(blocks) == 1, f"{path.name}: one parameter block"
    keys = [keyword.arg for keyword in blocks[0].keywords]
    comments = cli.block_comments(source, keys)
    unexplained = [key for key in keys if len(comments.get(key, "")) < 8]
    assert not unexplained, f"{path.name}: no comment beside {unexplained}"


def test_block_comments_take_continuations_but_not_section_headings():
    source = (
        "PARAMS = dict(\n"
        "    # ---- a section heading\n"
        "    width=3,  # channels per layer\n"
        "              # (the same for every layer)\n"
        "    # ---- the next section\n"
        "    sizes=[5,\n"
        "           3],  # filter sizes\n"
        "    seed=None,\n"
        ")\n")
    assert cli.block_comments(source, ["width", "sizes", "seed"]) == {
        "width": "channels per layer (the same for every layer)", "sizes": "filter sizes", "seed": ""}
    assert cli.block_comments(source, ["width"]) == {}  # another block


def test_help_shows_the_block_comment_of_every_option():
    result = subprocess.run([sys.executable, str(REPO_ROOT / "fit_CNN.py"), "--help"], capture_output=True,
                            text=True, check=True, timeout=300)
    source = (REPO_ROOT / "fit_CNN.py").read_text()
    comment = source.split("initializer_std=", 1)[1].split("#", 1)[1].split("\n", 1)[0].strip()
    assert " ".join(comment.split()[:4]) in " ".join(result.stdout.split())
    assert result.stderr == ""


# The checks a script's options pass before its work starts (cli.Script(checks=...)).
def test_checks_run_after_resolving_and_unset_entries_pass(tmp_path):
    script = cli.Script("toy.py", make_script().params, presets=PRESETS,
                        checks={"width": cli.positive_int, "out_dir": cli.writable_folder})
    assert script.parse(["--out-dir", str(tmp_path / "new" / "folder")])["width"] == 8  # from the preset
    with pytest.raises(errors.ConfigError, match="^--width: 0 is not a positive whole number"):
        script.parse(["--width", "0"])
    with pytest.raises(KeyError, match="not in the parameter block"):
        cli.Script("toy.py", make_script().params, checks={"no_such_entry": cli.positive_int})


@pytest.mark.parametrize("check, good, bad", [
    (cli.positive_int, [1, 128], [0, -4, 1.5, True]),
    (cli.non_negative, [0, 2.5], [-1, float("nan"), float("inf"), "x"]),
    (cli.finite_positive, [1e-4, 3], [0, -1e-3, float("nan"), float("inf")]),
    (cli.fraction, [0.2, 1], [0, 1.5, float("nan")]),
    (cli.proper_fraction, [0, 0.5], [1, -0.1, 2]),
    (cli.ordered_pair, [[-50, -15], [0, 0]], [[50, 0], [0, float("inf")], [1, 2, 3]]),
    (cli.increasing_fractions, [[0, 1], [0.3, 0.6]], [[0.9, 0.1], [0.5, 0.5], [0.5, 1.5], [0.2]]),
    (cli.each(cli.positive_int), [[1, 2], []], [[3, 0]]),
])
def test_number_checks_name_the_option(check, good, bad):
    for value in good:
        check("learning_rate", value)
    for value in bad:
        with pytest.raises(errors.ConfigError, match="^--learning-rate: "):
            check("learning_rate", value)


def test_path_checks_tell_a_file_from_a_folder(tmp_path):
    (tmp_path / "a_file").write_text("")
    (tmp_path / "read_only").mkdir(mode=0o555)
    cli.existing_folder("data_dir", tmp_path)
    cli.existing_file("morphology", tmp_path / "a_file")
    for path in (tmp_path, tmp_path / "new", tmp_path / "new" / "deeper"):
        cli.writable_folder("out_dir", path)  # a folder not made yet: its nearest existing parent counts
    for check, path, problem in [
            (cli.existing_folder, tmp_path / "missing", "does not exist"),
            (cli.existing_folder, tmp_path / "a_file", "is a file, not a folder"),
            (cli.existing_file, tmp_path / "missing", "does not exist"),
            (cli.existing_file, tmp_path, "is not a file"),
            (cli.writable_folder, tmp_path / "a_file", "is a file, not a folder"),
            (cli.writable_folder, tmp_path / "a_file" / "below", "is a file, not a folder"),
            (cli.writable_folder, tmp_path / "read_only", "is read-only"),
            (cli.writable_folder, tmp_path / "read_only" / "new", "is read-only")]:
        with pytest.raises(errors.ConfigError, match=f"^--out-dir: .*{problem}; give"):
            check("out_dir", path)
