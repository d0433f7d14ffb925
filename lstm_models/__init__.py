"""Plain-PyTorch LSTM models, datasets, the training loop and bundle I/O.

Nothing here imports Prefect or Great Expectations, so the package can be used and
tested on its own.
"""
