"""Tools built on the rest: the finite-difference step sweep and the differential fuzzer."""
