"""Sentiment flow: reviews -> validated rows -> token ids -> LSTM -> evaluation -> bundle.

Each expensive stage is a cached task keyed on its inputs' content, its config section and its
code (tasks/shared/caching.py), so an unchanged re-run is all cache hits, and editing the data
or a tokenization parameter re-runs only what depends on it. The stages live in
tasks/sentiment/, one module each.
"""
from __future__ import annotations

import time

from prefect import flow, task
from prefect.logging import get_run_logger

from lstm_models.vectors import named_source_version
from tasks.sentiment.baseline import train_baseline_task
from tasks.sentiment.config import SentimentConfig, WordVectorsConfig
from tasks.sentiment.evaluate import evaluate_task, publish_length_slices
from tasks.sentiment.gate import gate_sentiment_task
from tasks.sentiment.ingest import check_input_file, ingest_reviews
from tasks.sentiment.profile import profile_reviews_task, review_drift_task
from tasks.sentiment.publish import publish_sentiment_task
from tasks.sentiment.results import TokenizedReviews
from tasks.sentiment.sizing import DataShape, publish_settings, resolve
from tasks.sentiment.summary import data_summary, metrics_of, run_summary, version_info
from tasks.sentiment.tokenize import tokenize_reviews_task
from tasks.sentiment.train import train_classifier_task, vectors_dim, vectors_for
from tasks.sentiment.validate import validate_reviews_task
from tasks.shared.artifacts import publish_data_summary, publish_drift, publish_validation_table
from tasks.shared.caching import run_stage
from tasks.shared.events import training_completed_hook
from tasks.shared.hashing import file_sha256
from tasks.shared.registry_checks import current_champion
from tasks.shared.results import Validation
from tasks.shared.runners import Runner, Workers, execution

from .common import TRAINING_TIMEOUT_S, accept_batch, after_run, release_line, release_summary, run_name, start_run

DEFAULT_DATA = "data/amazon_polarity_head6459.ft.txt.bz2"


@task(name="hash-input")
def hash_input(path: str) -> str:
    """Content hash of the input (streamed): the root of every cache key."""
    return file_sha256(check_input_file(path))


def word_vectors_file(vectors: WordVectorsConfig) -> tuple[int | None, str | None]:
    """The pretrained vectors' dimension and what the cache key follows (the file's content hash,
    or the named source's package version); (None, None) without vectors."""
    dim = vectors_dim(vectors)
    if vectors.named:
        return dim, named_source_version(vectors.named)
    return dim, file_sha256(vectors.path) if vectors.path else None


def pretrain_inputs(cfg: SentimentConfig) -> dict:
    """The training stage's pretraining inputs: none when pretraining is off (older cache keys hold)."""
    if not cfg.pretrain.enabled:
        return {}
    extra = cfg.pretrain.unlabelled
    return {"pretrain": cfg.pretrain, "unlabelled_sha256": hash_input(extra) if extra else None,
            "seq_len": cfg.preprocess.seq_len, "tail": cfg.preprocess.tail}


def prepare_reviews(data: str, cfg: SentimentConfig, output: str):
    """Ingest, validate (the batch accepted or refused) and tokenize: the stages the training and
    search flows share. Returns the input hash and the three stage runs."""
    log = get_run_logger()
    sha = hash_input(data)
    ingest = run_stage(ingest_reviews, output, source=data, source_sha256=sha, ingest=cfg.ingest)
    validate = run_stage(validate_reviews_task, output, raw=ingest.result.raw, label_map=ingest.result.label_map,
                         source=data, validation=cfg.validation)
    validation: Validation = validate.result
    publish_validation_table("sentiment", validation.report, cfg.docs)
    log.info("rows read %(read)d = accepted %(accepted)d + quarantined %(quarantined)d", validation.rows)
    accept_batch(validation, data)
    tokens = run_stage(tokenize_reviews_task, output, valid=validation.valid, preprocess=cfg.preprocess, split=cfg.split)
    if not tokens.cached:
        log.info("tokenized %d of %d shards (the rest reused from earlier runs)", tokens.result.shards_tokenized,
                 tokens.result.shards)
    return sha, ingest, validate, tokens


def data_shape(tok: TokenizedReviews) -> DataShape:
    return DataShape(tok.splits["train"], tok.median_train_length, tok.vocab_size)


@flow(name="sentiment-training", flow_run_name=run_name("sentiment"), timeout_seconds=TRAINING_TIMEOUT_S,
      on_completion=[training_completed_hook("sentiment")])  # batch prediction is triggered by its event
def sentiment_training(
    data: str = DEFAULT_DATA, config: SentimentConfig = SentimentConfig(), output: str = "outputs/sentiment",
    registry: str | None = None, force: bool = False, runner: Runner = None, workers: Workers = None,
) -> dict:
    """Train a sentiment LSTM from raw reviews and publish it to the registry.

    Args:
        data: Reviews: a fastText file (`__label__1|2 text`, .bz2/.gz too), a CSV or Parquet file
            with text and label columns, or an http(s)/s3 URL to one.
        config: The pipeline's settings (sections as in configs/*.yaml); empty fields follow the data.
        output: Folder for stage outputs, reports and the default registry.
        registry: Model registry root, a folder or fsspec URL (default `<output>/registry`).
        force: Promote the candidate to champion even when the gate says no.
        runner: Where the tokenization shards run: local (default), dask (a local cluster of
            `workers` processes), tcp://HOST:PORT (a Dask scheduler) or processes.
        workers: Processes of the dask or processes runner (default: one a CPU core).
    """
    with execution(runner, workers, config.cache.shared):
        return _sentiment_training(data, config, output, registry, force)


def _sentiment_training(data: str, config: SentimentConfig, output: str, registry: str | None, force: bool) -> dict:
    log = get_run_logger()
    data, registry = start_run(data, output, registry)
    t0 = time.perf_counter()
    cfg = config
    sha, ingest, validate, tokens = prepare_reviews(data, cfg, output)
    validation, tok = validate.result, tokens.result
    publish_data_summary("sentiment", data_summary(validation, tok, cfg))
    # settings left empty in the config follow the training split (its size and text lengths)
    cfg = cfg.model_copy(update={"vectors": vectors_for(cfg.model, cfg.vectors)})  # the default vectors yield to a set embedding_dim
    vectors_dim, vectors_sha = word_vectors_file(cfg.vectors)
    model_cfg, train_cfg, sizing = resolve(cfg.model, cfg.train, data_shape(tok), vectors_dim)
    cfg = cfg.model_copy(update={"model": model_cfg, "train": train_cfg})
    publish_settings(sizing)
    log.info("model %s; training %s (from %s)", model_cfg.model_dump(), train_cfg.model_dump(), sizing["data"])
    profile = run_stage(profile_reviews_task, output, valid=validation.valid, tokens=tok.tokens, vocab=tok.vocab)
    champion, champion_bundle = current_champion(registry, "sentiment")
    drift = run_stage(review_drift_task, output, valid=validation.valid, tokens=tok.tokens, champion_bundle=champion_bundle)
    publish_drift("sentiment", drift.result, champion)
    train = run_stage(train_classifier_task, output, tokens=tok.tokens, vocab=tok.vocab, vocab_size=tok.vocab_size,
                      model=cfg.model, train=cfg.train, vectors=cfg.vectors, vectors_sha256=vectors_sha,
                      **pretrain_inputs(cfg))
    baseline = run_stage(train_baseline_task, output, valid=validation.valid, tokens=tok.tokens, baseline=cfg.baseline)
    evaluation = run_stage(evaluate_task, output, tokens=tok.tokens, weights=train.result.weights,
                           training_summary=train.result.summary, baseline=baseline.result,
                           vocab_size=tok.vocab_size, model=cfg.model)
    publish_length_slices(evaluation.result.lstm, evaluation.result.baseline)

    stages = {"ingest": ingest, "validate": validate, "tokenize": tokens, "profile": profile, "train": train,
              "baseline": baseline, "evaluate": evaluation}
    published = publish_sentiment_task(version_info(cfg, data, sha, stages, sizing), train.result.weights, tok.vocab,
                                       profile.result, evaluation.result.plots, output, registry, train.key,
                                       cfg.docs)
    decision = gate_sentiment_task(registry, published["version"], metrics_of(evaluation.result), validation.valid,
                                   tok.tokens, cfg.gate, force)
    summary = run_summary(release_summary(published, registry, decision, drift.result, champion), stages,
                          time.perf_counter() - t0)
    log.info("LSTM test accuracy %.4f, TF-IDF + LR %.4f; cached stages: %s", summary["metrics"]["accuracy"],
             summary["baseline"]["accuracy"], ", ".join(summary["cached"]) or "none")
    log.info(release_line(summary))
    return after_run(cfg.retention, output, registry, "sentiment", summary, log)
