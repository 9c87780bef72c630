"""The mapping language: paths, resolvers, and the compiler that turns a mapping into functions.

The compiling happens once, before any record is read; each record then costs
plain function calls.
"""
