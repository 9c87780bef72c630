"""Running a compiled plan: the streaming loop, outcomes, rejects, reports.

Never imports a concrete plugin.
"""
