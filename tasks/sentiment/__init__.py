"""The sentiment pipeline's stages, one module a stage, in the order the flow runs them:
ingest -> validate -> tokenize -> profile (and drift) -> train -> baseline -> evaluate ->
publish -> gate; predict is batch prediction with a published model."""
