"""Measuring and attacking the service: the benchmark, the fuzzer, the load test, scoring, and
the hostile and PDF files they and the tests build. The local runtime is ``ocr_local``."""
