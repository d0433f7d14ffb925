"""Train the LSTM classifier on tokens.parquet (the training loop itself is lstm_models')."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from safetensors.torch import save_file
from torch.nn import functional as F

from lstm_models.bundle import load_safetensors
from lstm_models.classifier import LSTMClassifier
from lstm_models.data import TensorData
from lstm_models.distributed import run_distributed, world
from lstm_models.pretrain import pretrain_lm
from lstm_models.text import encode, strip_fasttext_label, token_index, tokenize
from lstm_models.training import fit
from lstm_models.vectors import VectorFileError, load_named_vectors, load_vectors, named_vector_dim, vector_dim
from tasks.shared.artifacts import progress_reporter
from tasks.shared.caching import cached_task, checkpoint_for, staging
from tasks.shared.config import TrainSettings
from tasks.shared.errors import ConfigError
from tasks.shared.results import Trained

from .config import ClassifierConfig, PretrainSettings, WordVectorsConfig


def load_split(tokens_path: str | Path, split: str) -> TensorData:
    """One split of tokens.parquet as tensors, built once (no per-example work later)."""
    table = pq.read_table(tokens_path, columns=["split", "label", "ids"])
    table = table.filter(pc.equal(table.column("split").cast("string"), split))
    ids = table.column("ids").to_pylist()
    y = table.column("label").to_numpy().astype("float32")
    return TensorData.from_sequences(ids, y)


def unlabelled_texts(path: str, vocab: str, seq_len: int, tail: int) -> TensorData:
    """A text file of one text a line (a fastText label, if any, ignored; blank lines skipped),
    encoded with the run's vocabulary and truncation, for language-model pretraining."""
    import fsspec

    itos = json.loads(Path(vocab).read_text())["itos"]
    index = token_index(itos)
    try:
        with fsspec.open(path, "rt", encoding="utf-8", errors="replace", compression="infer") as f:
            ids = [encode(tokenize(strip_fasttext_label(line)), index, seq_len, tail) for line in f if line.strip()]
    except FileNotFoundError:
        raise ConfigError(f"pretrain.unlabelled: {path}: no such file") from None
    ids = [i for i in ids if len(i) > 1]
    if not ids:
        raise ConfigError(f"pretrain.unlabelled: {path}: no text with two or more tokens")
    return TensorData.from_sequences(ids, np.zeros(len(ids), dtype=np.float32))


def build_classifier(vocab_size: int, model: ClassifierConfig) -> LSTMClassifier:
    return LSTMClassifier(vocab_size=vocab_size, **model.model_dump())


def bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, y)


def vectors_for(model: ClassifierConfig, vectors: WordVectorsConfig) -> WordVectorsConfig:
    """The vectors a run uses: the named source (the default) yields to an embedding size set in
    the config that it does not have (a config written before the vectors were the default keeps
    training as it did); a file given by path does not (its dimension must match: a clear error)."""
    if vectors.named and model.embedding_dim is not None and model.embedding_dim != vectors_dim(vectors):
        return vectors.model_copy(update={"source": None})
    return vectors


def vectors_dim(vectors: WordVectorsConfig) -> int | None:
    """The dimension of the configured word vectors (None without vectors)."""
    try:
        if vectors.named:
            return named_vector_dim(vectors.named)
        return vector_dim(vectors.path) if vectors.path else None
    except VectorFileError as e:
        raise ConfigError(f"{vectors.setting}: {e}") from None


def start_embedding(model: LSTMClassifier, vocab: str, vectors: WordVectorsConfig, seed: int) -> dict:
    """Copy the pretrained vectors into the embedding (frozen or not); returns their coverage."""
    itos = json.loads(Path(vocab).read_text())["itos"]
    try:
        if vectors.named:
            weights, coverage = load_named_vectors(vectors.named, itos, seed=seed)
        else:
            weights, coverage = load_vectors(vectors.path, itos, seed=seed)
    except VectorFileError as e:
        raise ConfigError(f"{vectors.setting}: {e}") from None
    with torch.no_grad():
        model.embedding.weight.copy_(weights)
    model.embedding.weight.requires_grad_(not vectors.freeze)
    return {**coverage.as_dict(), **({"source": vectors.named} if vectors.named else {"file": vectors.path}),
            "frozen": vectors.freeze}


def train_classifier(tokens: str, vocab_size: int, model_cfg: ClassifierConfig, train_cfg: TrainSettings, out_dir: Path,
                     progress: bool = True, checkpoint: Path | None = None, on_eval=None, vocab: str | None = None,
                     vectors: WordVectorsConfig | None = None, pretrain: PretrainSettings | None = None,
                     unlabelled: TensorData | None = None) -> dict:
    """Train and write model.safetensors and training.json to out_dir; with train.processes > 1,
    on that many processes (DistributedDataParallel, lstm_models/distributed.py), this one rank 0."""
    return run_distributed(_train_rank, getattr(train_cfg, "processes", 1), tokens, vocab_size, model_cfg, train_cfg,
                           out_dir, checkpoint=checkpoint, vocab=vocab, vectors=vectors, pretrain=pretrain,
                           unlabelled=unlabelled, main_kwargs={"progress": progress, "on_eval": on_eval})


def _train_rank(tokens: str, vocab_size: int, model_cfg: ClassifierConfig, train_cfg: TrainSettings, out_dir: Path,
                progress: bool = False, checkpoint: Path | None = None, on_eval=None, vocab: str | None = None,
                vectors: WordVectorsConfig | None = None, pretrain: PretrainSettings | None = None,
                unlabelled: TensorData | None = None) -> dict:
    train, val = load_split(tokens, "train"), load_split(tokens, "val")
    torch.manual_seed(train_cfg.seed)  # fit seeds its own loop; the initial weights need it too
    model = build_classifier(vocab_size, model_cfg)
    vectors = vectors_for(model_cfg, vectors) if vectors is not None else None  # None: no pretrained vectors
    pretrained = (start_embedding(model, vocab, vectors, train_cfg.seed)
                  if vectors is not None and vectors.enabled else None)
    lm = None
    if pretrain is not None and pretrain.enabled:
        texts = train if unlabelled is None else TensorData.from_sequences(
            [row[:n] for part in (train, unlabelled) for row, n in zip(part.x.tolist(), part.lengths.tolist())],
            np.zeros(len(train) + len(unlabelled), dtype=np.float32))
        lm = pretrain_lm(model, texts, val, train_cfg.loop_config(epochs=pretrain.epochs, lr=pretrain.lr, patience=1,
                                                                  max_minutes=pretrain.max_minutes, eval_every_steps=None),
                         targets=pretrain.targets)
    result = fit(model, train, val, bce, train_cfg.loop_config(), progress=progress, checkpoint=checkpoint,
                 on_eval=on_eval)
    summary = {**result.summary(), "train_rows": len(train), "val_rows": len(val),
               "parameters": sum(p.numel() for p in model.parameters()), "processes": world()[1],
               **({"word_vectors": pretrained} if pretrained else {}), **({"pretrain": lm} if lm else {})}
    if world()[0] == 0:  # one writer
        save_file(result.state_dict, str(out_dir / "model.safetensors"))
        (out_dir / "training.json").write_text(json.dumps(summary, indent=2))
    return summary


@cached_task(name="train-lstm", stage="train")
def train_classifier_task(tokens: str, vocab: str, vocab_size: int, model: ClassifierConfig, train: TrainSettings,
                          vectors: WordVectorsConfig, vectors_sha256: str | None, out_dir: str,
                          pretrain: PretrainSettings | None = None, unlabelled_sha256: str | None = None,
                          seq_len: int = 400, tail: int = 0) -> Trained:
    """vectors_sha256: the word-vector file's content hash (or the named source's package version),
    so the cache key follows the vectors; unlabelled_sha256: the same for pretrain.unlabelled.
    seq_len, tail: the run's truncation, applied to the unlabelled texts too."""
    from prefect.logging import get_run_logger

    out = Path(out_dir)
    on_eval, done = progress_reporter("sentiment", train.epochs, get_run_logger())
    extra = None
    if pretrain is not None and pretrain.enabled and pretrain.unlabelled:
        extra = unlabelled_texts(pretrain.unlabelled, vocab, seq_len, tail)
    with staging(out_dir) as tmp:  # a killed run resumes from its last epoch's checkpoint
        summary = train_classifier(tokens, vocab_size, model, train, tmp, checkpoint=checkpoint_for(out_dir),
                                   on_eval=on_eval, vocab=vocab, vectors=vectors, pretrain=pretrain,
                                   unlabelled=extra)
    done(summary)
    return Trained(weights=str(out / "model.safetensors"), summary=str(out / "training.json"), training=summary)


def load_classifier(weights: str | Path, vocab_size: int, model_cfg: ClassifierConfig) -> LSTMClassifier:
    """Weights via safetensors only (never a pickle)."""
    model = build_classifier(vocab_size, model_cfg)
    model.load_state_dict(load_safetensors(weights))
    return model.eval()
