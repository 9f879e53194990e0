"""NumPy engines over the IR: the chain-rule engine and its tape, batched evaluation, differences, complex evaluation."""
