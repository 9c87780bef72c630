"""The mapping language: paths, resolvers and the compiler that turns a
mapping into plain functions once, before any record is read."""
