"""The language: the expression parser (an `ast` whitelist), the IR, the primitive table, lowering to a backend, limits."""
