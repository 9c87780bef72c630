"""The Fluent Commerce client the ``fluent`` connection lends to sources and targets.

OAuth with single-flight renewal, timeouts, one retry policy, reconciliation
of ambiguous writes, and Fluent error-code classification.
"""
