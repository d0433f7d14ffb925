"""Pipeline stages: plain functions that do the work, with thin Prefect @task wrappers."""
