"""Sequence-classification flow: sequences [N, steps, features] and classes -> split -> the
recurrent network -> test accuracy. `digits` (scikit-learn's 8x8 digits, one image row a step)
is the articles' MNIST example, offline."""
from __future__ import annotations

import time

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.logging import get_run_logger

from tasks.sequence.config import SequenceConfig
from tasks.sequence.evaluate import evaluate_sequences_task
from tasks.sequence.load import DIGITS, load_sequences_task
from tasks.sequence.train import train_sequences_task
from tasks.shared.caching import run_stage
from tasks.shared.hashing import file_sha256

from .common import run_name


@flow(name="sequence-classification", flow_run_name=run_name("sequence"))
def sequence_training(data: str = DIGITS, config: SequenceConfig = SequenceConfig(),
                            output: str = "outputs/sequence") -> dict:
    """Train an LSTM sequence classifier (the articles' MNIST example on 8x8 digits).

    Args:
        data: `digits` (scikit-learn's 8x8 digits, one image row a step) or an .npz file with
            x [N, steps, features] and y [N].
        config: The path's settings (split, model, train).
        output: Folder for stage outputs.
    """
    import sklearn

    log = get_run_logger()
    t0 = time.perf_counter()
    key = f"{DIGITS}-sklearn-{sklearn.__version__}" if data == DIGITS else file_sha256(data)
    load = run_stage(load_sequences_task, output, source=data, source_key=key, split=config.split)
    train = run_stage(train_sequences_task, output, sequences=load.result.sequences_path, model=config.model,
                      train=config.train)
    evaluation = run_stage(evaluate_sequences_task, output, sequences=load.result.sequences_path,
                           weights=train.result.weights, hparams=train.result.training["hparams"])
    m = evaluation.result
    create_table_artifact(key="sequence-metrics", table=[{"class": c, "accuracy": f"{a:.4f}"}
                                                        for c, a in m["per_class_accuracy"].items()],
                          description=f"test accuracy {m['accuracy']:.4f} on {m['n']} sequences")
    log.info("test accuracy %.4f on %d sequences", m["accuracy"], m["n"])
    return {"accuracy": m["accuracy"], "test_sequences": m["n"], "parts": load.result.parts,
            "classes": load.result.classes, "best_epoch": train.result.training["best_epoch"],
            "cached": [n for n, s in (("load", load), ("train", train), ("evaluate", evaluation)) if s.cached],
            "seconds": round(time.perf_counter() - t0, 2)}
