"""Every ```python block of README.md runs as written.

The blocks run in order in one namespace, as a reader pastes them into one notebook, in a
temporary working folder (so `./warehouse/...` lands there). Blocks that use `s3://` run against
the loopback moto server, reached through the standard AWS environment as the README says.
"""

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def _uses_s3(block):
    return '"s3://' in block  # a string literal, not a mention in a comment


def _run(blocks, cwd, monkeypatch):
    monkeypatch.chdir(cwd)
    namespace: dict = {"__name__": "__readme__"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i + 1}", "exec"), namespace)  # noqa: S102
    return namespace


def test_readme_has_python_blocks():
    assert len(BLOCKS) >= 3 and any(_uses_s3(b) for b in BLOCKS)


def test_readme_local_blocks_run(tmp_path, monkeypatch, capsys):
    namespace = _run([b for b in BLOCKS if not _uses_s3(b)], tmp_path, monkeypatch)
    assert namespace["t"].scan().count() == 2  # 3 appended, 2 replaced by 1
    assert (tmp_path / "warehouse" / "sales").is_dir()
    assert "SPRING" in capsys.readouterr().out


@pytest.mark.s3
def test_readme_blocks_run_with_s3(s3, tmp_path, monkeypatch):
    import s3fs

    fs = s3fs.S3FileSystem()  # the environment the s3 fixture set, as a reader's shell would
    for bucket in sorted({m for b in BLOCKS for m in re.findall(r'"s3://([a-z0-9.-]+)/', b)}):
        fs.mkdir(bucket)
    namespace = _run(BLOCKS, tmp_path, monkeypatch)
    assert namespace["s3_sales"].scan().count() == 2


def test_readme_demo_command(tmp_path, monkeypatch, capsys):
    # "Try it": `python examples/demo.py && lh info ./warehouse/events`, run here in-process.
    import runpy
    import sys

    from lakehouse.cli import main

    assert ".venv/bin/python examples/demo.py && .venv/bin/lh info ./warehouse/events" in README.read_text()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["examples/demo.py"])
    runpy.run_path(str(README.parent / "examples" / "demo.py"), run_name="__main__")
    assert main(["info", "./warehouse/events"]) == 0
    assert "rows          301" in capsys.readouterr().out
