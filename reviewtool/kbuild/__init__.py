"""Kbuild: per-patch cross-builds, the architectures, Kconfig and Makefile knowledge, compiler
diagnostics and their comparison."""
