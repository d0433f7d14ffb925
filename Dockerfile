# The pipeline's worker image: the project, its pinned dependencies (CPU PyTorch, s3fs) and the
# deployments in prefect.yaml. compose.yaml runs it as a process worker beside a Prefect server
# on PostgreSQL and an S3-compatible object store.
FROM python:3.11-slim

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false PYTHONUNBUFFERED=1
WORKDIR /app

# Dependencies first (a layer that changes only with the pins): torch from the CPU index, as dev.sh does.
COPY pyproject.toml constraints.txt README.md ./
RUN pip install "torch==$(grep '^torch==' constraints.txt | cut -d= -f3)" --no-deps \
        --index-url https://download.pytorch.org/whl/cpu \
 && mkdir -p flows/configs tasks/shared tasks/sentiment tasks/forecast tasks/sequence lstm_models \
 && touch flows/__init__.py flows/configs/__init__.py tasks/__init__.py tasks/shared/__init__.py \
          tasks/sentiment/__init__.py tasks/forecast/__init__.py tasks/sequence/__init__.py lstm_models/__init__.py \
 && pip install -c constraints.txt -e '.[s3]'

COPY flows flows
COPY tasks tasks
COPY lstm_models lstm_models
COPY data data
COPY automations automations
COPY prefect.yaml ./

# Registers the deployments from /app (their working directory), then serves the work pool.
CMD ["sh", "-c", "prefect work-pool create lstm-pool --type process --overwrite && prefect deploy --all --no-prompt && prefect worker start --pool lstm-pool"]
