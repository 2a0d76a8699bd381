"""The benchmarks, one module each, with the statistics they share (``stats``)."""
