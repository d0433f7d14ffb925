"""The sentiment pipeline's stages, one module a stage, in the order the flow runs them:
ingest -> validate -> tokenize -> profile (and drift) -> [sizing] -> train -> baseline ->
evaluate -> publish -> gate; predict is batch prediction with a published model.

sizing.py chooses the settings a config leaves empty from the training split (size, lengths);
search.py is the Optuna search over the same training function (flows/search.py runs it)."""
