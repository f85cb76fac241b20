"""Stage 1: rosters, the two-stage wizard and its pages."""
