"""The Python notebook notebooks_py/train_record_analyze.ipynb, executed headless in fast mode (MHCLAB_NB_FAST=1)
with nbconvert; its results are read from the one `NOTEBOOK_SUMMARY {json}` line it prints and from the files it
writes into MHCLAB_NB_OUT (a temporary directory here). Nothing in the repository is written or regenerated."""
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the notebook trains a PyTorch model and PyTorch is not importable here")
nbformat = pytest.importorskip("nbformat", reason="reading the executed notebook needs nbformat")

import mhclab  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks_py" / "train_record_analyze.ipynb"
GENERATOR = ROOT / "notebooks_py" / "make_notebook.py"
TIMEOUT = 300  # seconds for the whole execution (fast mode takes well under a minute on 2 cores)
FIGURES = ("loss.png", "prefix_gains.png", "h_res_heatmaps.png")
KERNEL = "mhclab-test-python"  # the kernelspec written for this interpreter when the default one is another


def _nbconvert_command():
    """nbconvert of this interpreter, else jupyter-nbconvert on PATH, else None."""
    if importlib.util.find_spec("nbconvert") is not None:
        return [sys.executable, "-m", "nbconvert"]
    exe = shutil.which("jupyter-nbconvert")
    return [exe] if exe else None


def _default_kernel_is_this_interpreter():
    """Whether the kernelspec `python3` that nbconvert would start runs this interpreter (which imports mhclab)."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        return False
    try:
        argv = KernelSpecManager().get_kernel_spec("python3").argv
    except NoSuchKernel:
        return False
    if not argv:
        return False
    exe = shutil.which(argv[0]) or argv[0]
    return os.path.realpath(exe) == os.path.realpath(sys.executable)


def _kernel_options(jupyter_dir, env):
    """nbconvert options selecting a kernel that runs this interpreter: the default one when it does, else a
    kernelspec written into jupyter_dir (found through JUPYTER_PATH)."""
    if _default_kernel_is_this_interpreter():
        return []
    spec = jupyter_dir / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable}, mhclab test)", "language": "python"}))
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(jupyter_dir), env.get("JUPYTER_PATH", "")) if p)
    return [f"--ExecutePreprocessor.kernel_name={KERNEL}"]


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Executes the notebook once: (executed notebook, output directory)."""
    command = _nbconvert_command()
    if command is None:
        pytest.skip("nbconvert is not available (neither `python -m nbconvert` nor jupyter-nbconvert)")
    if importlib.util.find_spec("ipykernel") is None:
        pytest.skip(f"ipykernel is not importable by {sys.executable}, so no kernel can run the notebook here")
    tmp = tmp_path_factory.mktemp("notebook")
    out = tmp / "out"
    env = dict(os.environ)
    # The kernel must import this mhclab: put the package's directory first on its PYTHONPATH (absolute, since the
    # kernel runs in notebooks_py/).
    package_dir = str(Path(mhclab.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_dir, env.get("PYTHONPATH", "")) if p)
    env.update(MHCLAB_NB_FAST="1", MHCLAB_NB_OUT=str(out), PYDEVD_DISABLE_FILE_VALIDATION="1")
    args = command + ["--to", "notebook", "--execute", "--output-dir", str(tmp),
                      f"--ExecutePreprocessor.timeout={TIMEOUT}"] + _kernel_options(tmp / "jupyter", env)
    try:
        proc = subprocess.run(args + [str(NOTEBOOK)], env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=TIMEOUT + 60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"executing {NOTEBOOK.name} took more than {TIMEOUT + 60} s")
    assert proc.returncode == 0, f"nbconvert failed ({' '.join(args)}):\n{proc.stderr[-4000:]}"
    return nbformat.read(str(tmp / NOTEBOOK.name), as_version=4), out


def _stream_text(nb):
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type == "stream" and o.name == "stdout")


@pytest.fixture(scope="module")
def summary(executed):
    nb, _ = executed
    lines = [line for line in _stream_text(nb).splitlines() if line.startswith("NOTEBOOK_SUMMARY ")]
    assert len(lines) == 1, f"expected one NOTEBOOK_SUMMARY line, found {len(lines)}"
    return json.loads(lines[0][len("NOTEBOOK_SUMMARY "):])


def test_every_cell_ran_without_error(executed):
    nb, _ = executed
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{errors[0].ename}: {errors[0].evalue}" if errors else ""
    stderr = [o.text for c in code for o in c.outputs if o.output_type == "stream" and o.name == "stderr"]
    assert not any("Traceback" in t for t in stderr)


def test_fast_mode_and_methods(summary):
    assert summary["mode"] == "fast"
    assert summary["primary_method"] == "mhc"
    assert summary["primary"] in summary["methods"]
    assert len(summary["methods"]) >= 2 and set(summary["runs"]) == set(summary["methods"])
    assert {"hc", "resnet"} <= {r["method"] for r in summary["runs"].values()}


def test_loss_decreased(summary):
    assert math.isfinite(summary["initial_loss"]) and math.isfinite(summary["final_loss"])
    assert summary["final_loss"] < summary["initial_loss"]
    # Below the unigram entropy: the model uses its context, not only the character frequencies.
    assert summary["final_loss"] < summary["unigram_entropy"] < summary["uniform_loss"]
    for label, run in summary["runs"].items():
        assert run["final_loss"] < run["initial_loss"], label


def test_recorded_stack_is_doubly_stochastic(summary):
    assert summary["stack_shape"] == [8, 4, 4]
    assert summary["primary_options"] == {"projection": "newton"}
    assert 0 <= summary["ds_err"] <= 1e-9
    # The paper's 20-iteration Sinkhorn: rows exact (the last step normalises them), columns only approximately,
    # and the prefix's backward gain within Π(1 + col_err) (checked in the notebook from the recorded matrices).
    sinkhorn = [r for r in summary["runs"].values() if r["method"] == "mhc" and not r["options"]]
    assert sinkhorn and sinkhorn[0]["row_err"] <= 1e-9
    assert summary["sinkhorn20_bound_holds"] is True
    assert 1 - 1e-12 <= sinkhorn[0]["prefix_bwd_gain_final"] <= summary["sinkhorn20_bwd_bound"] * (1 + 1e-12)


def test_gains_finite_and_positive(summary):
    for key in ("prefix_fwd_gain_final", "prefix_bwd_gain_final", "prefix_sigma_max_final"):
        assert math.isfinite(summary[key]) and summary[key] > 0, key
        assert abs(summary[key] - 1) <= 1e-9, key  # products of doubly stochastic matrices
        for label, run in summary["runs"].items():
            assert math.isfinite(run[key]) and run[key] > 0, (label, key)


def test_figures_and_summary_file_written(executed, summary):
    _, out = executed
    for name in FIGURES:
        path = out / name
        assert path.is_file() and path.stat().st_size > 1000, name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert sorted(summary["figures"]) == sorted(FIGURES)
    assert json.loads((out / "summary.json").read_text()) == summary


def test_figures_shown_inline(executed):
    nb, _ = executed
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(images) >= len(FIGURES)


def test_committed_notebook_is_the_generators_output_without_outputs():
    spec = importlib.util.spec_from_file_location("mhclab_make_notebook", GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in notebooks_py/
    try:
        spec.loader.exec_module(generator)  # defines the cells; writes nothing
    finally:
        sys.dont_write_bytecode = dont_write
    assert NOTEBOOK.read_text(encoding="utf-8") == generator.render(), \
        f"{NOTEBOOK.name} is stale: run /usr/bin/python3 notebooks_py/make_notebook.py"
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
