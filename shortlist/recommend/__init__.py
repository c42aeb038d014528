"""Reading the catalogue: search now; similar videos and per-user recommendations next."""
