"""The eval runner end to end on three reference items with the real 0.5B model (CI smoke run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.settings import Settings
from tests.conftest import REPO

pytestmark = pytest.mark.slow


def test_runner_writes_results_and_report(
    corpus_index: tuple[Settings, Any], tmp_path: Path
) -> None:
    settings, _ = corpus_index
    env = {
        **os.environ,
        "ASSISTANT_DATA_DIR": str(settings.data_dir),
        "ASSISTANT_MODEL_CACHE_DIR": str(settings.model_cache_dir),
        "ASSISTANT_LLM_TEMPERATURE": "0",
        "ASSISTANT_TOP_K": "3",
    }
    out = tmp_path / "run"
    # Three items say nothing about quality, only the one promise that holds for any run: every
    # shown quote stands in its document.
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[overall]\nquote_validity_min = 1.0\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals",
            "--split",
            "all",
            "--ids",
            "sou-015",
            "un-001",
            "en-001",
            "--backend",
            "embedded",
            "--model",
            "qwen2.5-coder-0.5b",
            "--out",
            str(out),
            "--thresholds",
            str(thresholds),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert sorted(item["id"] for item in data["items"]) == ["en-001", "sou-015", "un-001"]
    assert data["meta"]["model"] == "qwen2.5-coder-0.5b"
    overall = data["summary"]["overall"]
    assert overall["items"] == 3
    assert overall["quote_validity"] in (None, 1.0)  # every shown quote is in its document
    assert 0.0 <= overall["mrr@10"] <= 1.0
    unanswerable = next(i for i in data["items"] if i["id"] == "un-001")
    assert "correctly_refused" in unanswerable["metrics"]
    assert "| hit@5 |" in (out / "report.md").read_text(encoding="utf-8")
