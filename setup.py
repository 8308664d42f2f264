"""Builds the optional C core of the taint ledger (toolguard/_taintc.c).

Everything else is in pyproject.toml. The extension is optional: without a C compiler the
install succeeds and the ledger uses its numpy implementation (the same answers, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "toolguard._taintc",
            sources=["toolguard/_taintc.c"],
            extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra", "-Wno-unused-parameter"],
            optional=True,
        )
    ]
)
