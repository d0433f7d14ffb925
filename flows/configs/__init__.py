"""Named configs shipped with the package (`--config article` finds sentiment-article.yaml)."""
