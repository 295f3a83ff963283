"""Opening ONNX models on onnxruntime the same way for every detector."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import onnxruntime as ort

# The bundled models carry exporter leftovers (initializers listed as graph
# inputs) that make onnxruntime print one warning per tensor; errors still show.
ort.set_default_logger_severity(3)


def open_session(
    model: Path | bytes,
    *,
    threads: int | None = None,
    providers: Sequence[str] | None = None,
) -> ort.InferenceSession:
    """An inference session with ``threads`` intra-op threads (default: all
    cores) on ``providers`` (default: CPU). Pass e.g.
    ``["CUDAExecutionProvider", "CPUExecutionProvider"]`` for a GPU build."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle pool threads would otherwise busy-wait after each run and take
    # the cores the decoder and the blur kernels need between detections.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, options, providers=list(providers or ["CPUExecutionProvider"]))
