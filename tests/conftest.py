"""Shared test configuration."""

# Import hypothesis at collection time: its pytest plugin otherwise imports it lazily at
# the end of the run, and CPython 3.11.7 can then fail compiling the rewritten module
# ("AST constructor recursion depth mismatch", fixed in later 3.11 releases).
import hypothesis  # noqa: F401
