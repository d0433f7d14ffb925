"""`python -m flows.cli`: the same as `lstm-pipeline`."""
from flows.cli import main

main()
