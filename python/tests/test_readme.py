"""The README's Python examples run as written (section "Python and PyTorch"), from a scratch directory that sees the
repository's experiments/ (so `mhclab.run(...)` writes its results there, not into the repository)."""
import os
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def readme_blocks():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Python and PyTorch", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_section_has_the_examples():
    blocks = readme_blocks()
    assert len(blocks) >= 2 and "mhclab.analyze" in blocks[0] and "mt.record" in blocks[1]


@pytest.mark.parametrize("index", range(len(readme_blocks())))
def test_readme_block_runs(index, tmp_path, monkeypatch):
    code = readme_blocks()[index]
    if "import torch" in code:
        pytest.importorskip("torch", reason="python3-torch is not installed")
    (tmp_path / "experiments").symlink_to(ROOT / "experiments")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "readme"})
    if "mhclab.run(" in code:
        assert (tmp_path / "results" / "temperature" / "rows.csv").is_file()
