"""vidgate's benchmark suite: ``make bench`` (or ``python -m bench``) writes docs/benchmarks.md.

Every figure is measured in the same run as its baseline (the official SDKs, LiteLLM, curl, a bare
Starlette endpoint), against the emulator on loopback. ``python -m bench --smoke`` runs each benchmark
with tiny sizes (the test suite does, to check each one still produces numbers).
"""
