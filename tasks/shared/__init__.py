"""Parts both pipelines use: stage caching, errors, fetching inputs, the GX engine, the model
registry and its gate, drift statistics, Prefect artifacts and plots, and the config types
both configs are made of."""
