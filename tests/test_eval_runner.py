"""The eval runner end to end on three reference items with the real 0.5B model (CI smoke run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assistant.core.settings import Settings
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
    # The smoke run's limits (as `make eval-smoke`): every shown quote stands in its document.
    thresholds = REPO / "evals" / "thresholds-smoke.toml"
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
            "--baseline",
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
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| hit@5 |" in report
    assert "## Compared with the llama-index baseline" in report

    # The baseline ran on the same items with the same model, scored by the same code.
    baseline = json.loads((out / "baseline" / "results.json").read_text(encoding="utf-8"))
    assert baseline["meta"]["system"] == "llama-index baseline"
    assert baseline["meta"]["model"] == "qwen2.5-coder-0.5b"
    assert sorted(item["id"] for item in baseline["items"]) == ["en-001", "sou-015", "un-001"]
    for item in baseline["items"]:
        assert item["answer"], item  # CitationQueryEngine answered
        assert item["timings"]["llm"] > 0
        # a quote is a cited numbered source: a whole chunk of the document
        assert all(len(q["text"]) > 200 for q in item["quotes"])
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "side by side" in html
    assert html.count("data:image/png;base64,") >= 3  # comparison, per kind, latency
