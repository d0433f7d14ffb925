"""The forecast pipeline's stages, one module a stage, in the order the flow runs them:
ingest -> validate (per file, then combined) -> profile (and drift) -> prepare -> train ->
evaluate -> publish -> gate; predict is batch prediction with a published model."""
