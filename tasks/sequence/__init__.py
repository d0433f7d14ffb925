"""Generic sequence classification: arrays of sequences [N, steps, features] and their classes
-> the recurrent network of lstm_models -> test accuracy. The articles' MNIST example (an LSTM
reading an image one row per step) is its `digits` config, on scikit-learn's bundled 8x8 digits
(offline); any `.npz` with `x` [N, T, F] and `y` [N] works the same way."""
