"""The use case every dialect calls, and what it runs on: the request's budget, its image
sources, the page workers, the metrics."""
