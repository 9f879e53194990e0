"""The exact side: SymPy's symbolic form, its numeric evaluation, the high-precision reference, kinks and undefined points."""
