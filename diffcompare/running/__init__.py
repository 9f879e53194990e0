"""Running and judging: verdicts, a problem's rows cell by cell, worker processes under a clock, run_problems."""
