"""``linalg-rnn train``: flags, config files, resume, and one-line errors before any work."""

import argparse
import dataclasses
import json
import subprocess
import sys

import pytest

from linalg_rnn._filesystem import read_jsonl
from linalg_rnn.cli import main

TINY = ["--task", "recall", "--seq-len", "8", "--delay", "2", "--hidden", "6", "--batch", "4",
        "--device", "cpu", "--no-progress", "--no-figures"]



def run_cli(args):
    try:
        return main(args)
    except SystemExit as exc:  # argparse's own errors (bad types) exit from inside the parser
        return exc.code


def test_train_writes_a_run_directory_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", *TINY, "--steps", "6", "--strategy", "orthogonal_init+qr_projection+clip",
                 "--proj-every", "3", "--clip-norm", "0.5", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "recall / clip+orthogonal_init+qr_projection on cpu: 6 steps" in printed
    assert "baseline_loss" in printed
    config = json.loads((out / "config.json").read_text())
    assert (config["proj_every"], config["clip_norm"], config["init_scheme"]) == (3, 0.5, "orthogonal")
    assert [r["step"] for r in read_jsonl(out / "metrics.jsonl")] == list(range(1, 7))
    assert json.loads((out / "result.json").read_text())["steps_done"] == 6


def test_default_run_directory_is_named_after_task_strategy_and_seed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", *TINY, "--steps", "2", "--strategy", "clip+tbptt", "--seed", "3"]) == 0
    assert (tmp_path / "runs" / "recall-clip_tbptt-seed3" / "result.json").exists()


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--task", "maze"], "unknown task 'maze'"),
        (["--strategy", "vanilla+foo"], "unknown strategy 'foo'"),
        (["--strategy", "expm+cayley"], "one parametrization"),
        (["--strategy", "lstm+qr_projection"], "lstm has none"),
        (["--seq-len", "0"], "--seq-len must be an integer >= 1"),
        (["--seq-len", "-5"], "--seq-len must be an integer >= 1"),
        (["--strategy", "qr_projection", "--proj-every", "0"], "--proj-every must be an integer >= 1"),
        (["--strategy", "tbptt", "--tbptt-window", "9"], "--tbptt-window \\(9\\) is longer than the"),
        (["--strategy", "clip", "--clip-norm", "0"], "--clip-norm must be a finite number > 0"),
        (["--strategy", "clip", "--clip-norm", "-2"], "--clip-norm must be a finite number > 0"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--steps", "0"], "--steps must be an integer >= 1"),
        (["--lr", "nan"], "--lr must be a finite number > 0"),
        (["--tbptt-window", "3"], "has no tbptt"),
        (["--seq-len", "abc"], "invalid int value"),
    ],
)
def test_bad_flags_exit_2_with_one_line_and_no_run_directory(flags, message, tmp_path, capsys):
    out = tmp_path / "run"
    code = run_cli(["train", *TINY, "--steps", "2", "--out", str(out), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "error:" in err
    assert __import__("re").search(message, err), err
    assert not out.exists()


def test_cuda_without_a_gpu_is_a_one_line_error(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    assert main(["train", *TINY, "--device", "cuda", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "no CUDA GPU" in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_toml_and_json_config_files_with_flags_winning(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('task = "adding"\nseq-len = 7\nhidden = 5\nbatch = 4\nsteps = 3\n'
                    'strategy = "clip"\nclip-norm = 0.25\ndevice = "cpu"\nfigures = false\n')
    assert main(["train", "--config", str(toml), "--steps", "2", "--out", str(tmp_path / "a"),
                 "--no-progress"]) == 0
    saved = json.loads((tmp_path / "a" / "config.json").read_text())
    assert (saved["task"], saved["seq_len"], saved["clip_norm"], saved["steps"]) == ("adding", 7, 0.25, 2)
    js = tmp_path / "run.json"
    js.write_text(json.dumps({"train": {"task": "copy", "seq_len": 3, "hidden": 5, "batch": 4,
                                        "steps": 2, "device": "cpu", "figures": False}}))
    assert main(["train", "--config", str(js), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    assert json.loads((tmp_path / "b" / "result.json").read_text())["task"] == "copy"


def test_bad_config_files_are_one_line_errors(tmp_path, capsys):
    bad_key = tmp_path / "k.toml"
    bad_key.write_text("hiden = 5\n")
    broken = tmp_path / "b.json"
    broken.write_text("{not json")
    for path, message in ((bad_key, "unknown config key 'hiden'"), (broken, "cannot parse"),
                          (tmp_path / "missing.toml", "does not exist")):
        assert main(["train", "--config", str(path), "--out", str(tmp_path / "r")]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_resume_from_the_run_directory_alone_and_refuse_to_overwrite(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["train", *TINY, "--steps", "4", "--strategy", "clip", "--out", out]) == 0
    assert main(["train", *TINY, "--steps", "4", "--out", out]) == 2
    assert "already holds a run" in capsys.readouterr().err
    # --resume needs only --out: the rest comes from config.json; --steps may grow
    assert main(["train", "--out", out, "--resume", "--steps", "7", "--no-progress"]) == 0
    assert [r["step"] for r in read_jsonl(tmp_path / "run" / "metrics.jsonl")] == list(range(1, 8))
    assert main(["train", "--out", out, "--resume", "--hidden", "12", "--no-progress"]) == 2
    assert "config differs" in capsys.readouterr().err


def test_python_dash_m_entry_point_reports_a_bad_flag_in_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "linalg_rnn", "train", "--strategy", "qr_projection", "--proj-every", "-1",
         "--out", str(tmp_path / "r")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "linalg-rnn train: error: --proj-every must be an integer >= 1, got -1"
    assert not (tmp_path / "r").exists()


def test_help_states_the_run_directory_contract(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "refused if --out holds no run" in text
    assert "--force start a fresh run even if --out holds other files or an earlier run" in text
    assert "(nothing is deleted)" in text


def test_flags_for_the_trainers_newer_options_reach_the_config(tmp_path):
    from linalg_rnn.cli import build_parser
    from linalg_rnn.rnn.cli_train import config_from_args

    def config(*flags):
        return config_from_args(build_parser().parse_args(["train", *TINY, *flags]))[0]

    c = config("--strategy", "expm", "--lr", "0.01", "--orth-lr", "0.002", "--norm-every", "1",
               "--allow-tf32", "--no-deterministic")
    assert (c.orth_lr, c.norm_every, c.allow_tf32, c.deterministic) == (0.002, 1, True, False)
    assert config("--strategy", "expm", "--lr", "0.01").orth_lr == pytest.approx(0.001)  # lr / 10
    assert config("--strategy", "tbptt", "--tbptt-update", "batch").tbptt_update == "batch"
    assert config("--strategy", "tbptt").tbptt_update == "window"
    assert config("--strategy", "orthogonal_init", "--init-scheme", "haar").init_scheme == "orthogonal"


@pytest.mark.parametrize("flags, message", [
    (["--strategy", "vanilla", "--orth-lr", "0.1"], "--orth-lr"),
    (["--strategy", "clip", "--tbptt-update", "batch"], "--tbptt-update is set"),
    (["--strategy", "tbptt", "--tbptt-update", "sometimes"], "--tbptt-update"),
    (["--norm-every", "0"], "--norm-every must be"),
])
def test_newer_options_refused_in_one_line(flags, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(["train", *TINY, *flags, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err
    assert not out.exists()


def test_every_config_field_is_a_train_flag_of_the_same_name():
    # the flags are made from the fields: a field not given is None, a bool field is --x/--no-x
    from linalg_rnn.rnn.cli_train import add_train_parser
    from linalg_rnn.rnn.config import TrainConfig

    parser = argparse.ArgumentParser()
    train = add_train_parser(parser.add_subparsers())
    dests = {action.dest: action for action in train._actions}
    fields = {f.name for f in dataclasses.fields(TrainConfig) if not f.name.startswith("_")}
    assert fields <= dests.keys()
    assert all("--" + name.replace("_", "-") in dests[name].option_strings for name in fields)
    assert {"--no-figures", "--no-permute", "--no-deterministic"} <= {
        flag for name in fields for flag in dests[name].option_strings}


# --- check once, read once ------------------------------------------------------------------------

def test_a_run_resolves_its_config_once_and_a_resume_reads_the_checkpoint_once(tmp_path, monkeypatch, capsys):
    import torch

    from linalg_rnn.rnn import config as config_module
    from linalg_rnn.rnn import strategies
    from linalg_rnn.rnn.config import TrainConfig

    calls = {"resolved": 0, "torch.load": 0, "parse_strategy": 0}
    real_resolved, real_load, real_parse = TrainConfig.resolved, torch.load, strategies.parse_strategy

    def resolved(self, **kwargs):
        calls["resolved"] += 1
        return real_resolved(self, **kwargs)

    def load(*args, **kwargs):
        calls["torch.load"] += 1
        return real_load(*args, **kwargs)

    def parse(text):
        calls["parse_strategy"] += 1
        return real_parse(text)

    monkeypatch.setattr(TrainConfig, "resolved", resolved)
    monkeypatch.setattr(torch, "load", load)
    monkeypatch.setattr(config_module, "parse_strategy", parse)
    out = str(tmp_path / "run")
    assert main(["train", *TINY, "--steps", "3", "--strategy", "tbptt+clip", "--out", out]) == 0
    assert calls == {"resolved": 1, "torch.load": 0, "parse_strategy": 1}
    calls.update(dict.fromkeys(calls, 0))
    assert main(["train", "--out", out, "--resume", "--steps", "5", "--no-progress"]) == 0
    assert calls == {"resolved": 1, "torch.load": 1, "parse_strategy": 1}
    calls.update(dict.fromkeys(calls, 0))
    from linalg_rnn.rnn.trainer import train  # the Python API too: one resolution, one read

    train(TrainConfig(**json.loads((tmp_path / "run" / "config.json").read_text()) | {"steps": 6}), out,
          resume=True)
    assert calls == {"resolved": 1, "torch.load": 1, "parse_strategy": 1}


# --- errors name the flag the user typed; files keep the field names -------------------------------

@pytest.mark.parametrize("flags, message", [
    (["--strategy", "orthogonal_int"], "unknown strategy 'orthogonal_int'; did you mean 'orthogonal_init'?"),
    (["--strategy", "clip+polar_projectoin"],
     "unknown strategy 'polar_projectoin' in 'clip+polar_projectoin'; did you mean 'polar_projection'?"),
    (["--task", "coyp"], "unknown task 'coyp' (--task); did you mean 'copy'?"),
    (["--device", "cdua"], "unknown device 'cdua' (--device); did you mean 'cuda'?"),
    (["--optimizer", "adamw"], "unknown optimizer 'adamw' (--optimizer); did you mean 'adam'?"),
    (["--strategy", "orthogonal_init", "--init-scheme", "hennaf"],
     "unknown init_scheme 'hennaf' (--init-scheme); did you mean 'henaff'?"),
    (["--seq-len", "0"], "--seq-len must be an integer >= 1, got 0"),
    (["--val-batch", "0"], "--val-batch must be an integer >= 1, got 0"),
    (["--clip-norm", "1"], "--clip-norm is set but the strategy 'vanilla' has no clip"),
    (["--strategy", "clip", "--clip-norm", "1", "--clip-value", "1"],
     "give --clip-norm or --clip-value, not both"),
])
def test_an_error_names_the_flag_typed_and_suggests_the_nearest_name(flags, message, tmp_path, capsys):
    out = tmp_path / "run"
    assert run_cli(["train", *TINY, *flags, "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"linalg-rnn train: error: {message}\n"
    assert not out.exists()


def test_a_config_file_error_names_the_field_and_a_flag_the_flag(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text("hidden = 0\n")
    assert main(["train", "--config", str(path), "--device", "cpu", "--out", str(tmp_path / "a")]) == 2
    assert "error: hidden must be an integer >= 1, got 0" in capsys.readouterr().err
    assert main(["train", "--config", str(path), "--hidden", "-1", "--out", str(tmp_path / "a")]) == 2
    assert "error: --hidden must be an integer >= 1, got -1" in capsys.readouterr().err


# --- the last line says whether the model learned -------------------------------------------------

def test_train_ends_with_val_loss_over_baseline_and_what_it_means(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", *TINY, "--steps", "4", "--out", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    result = json.loads((out / "result.json").read_text())
    ratio = result["final"]["val_loss"] / result["baseline_loss"]
    meaning = ("below the baseline: the model uses its input" if ratio < 1
               else "at or above the baseline: it has not learned the task yet")
    assert last == f"val_loss / baseline = {ratio:.3g}: {meaning}"
    assert main(["train", *TINY, "--steps", "30", "--lr", "1e20", "--out", str(tmp_path / "d")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("val_loss / baseline: none")
