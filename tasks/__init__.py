"""Pipeline stages: plain functions that do the work, with thin Prefect @task wrappers.

One sub-package a pipeline, one module a stage, so a stage's file is found from its path:
`tasks/sentiment/<stage>.py`, `tasks/forecast/<stage>.py`, `tasks/sequence/<stage>.py`; and
`tasks/shared/` for what they all use (caching, registry, gate, drift statistics, the GX engine,
artifacts, plots, fetching, errors). Tasks never import `flows`."""
