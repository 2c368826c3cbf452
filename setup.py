"""Build hook for cbserver's optional C accelerators (KV fast path, view document cut,
view collation, ICU sort keys).

Everything else about the package is declared in pyproject.toml. The extension is
``optional``: where it cannot be compiled (no compiler or no Python headers) the install
goes on, :mod:`cbserver.kv.fast_path` runs its pure-Python version and
:mod:`cbserver.views.doc_cut` maps whole documents and
:mod:`cbserver.views.collation` computes sort keys in Python, with ICU string keys
from PyICU when ``cbserver.views._icu_key`` (which also needs ICU's headers and
libraries) is missing.
"""
import sys

from setuptools import Extension, setup

WARNINGS = [] if sys.platform == "win32" else ["-Wall", "-Wextra"]

setup(ext_modules=[
    Extension("cbserver.kv._fast_path", ["src/cbserver/kv/_fast_path.c"],
              extra_compile_args=WARNINGS, optional=True),
    Extension("cbserver.views._json_cut", ["src/cbserver/views/_json_cut.c"],
              extra_compile_args=WARNINGS, optional=True),
    Extension("cbserver.views._collate", ["src/cbserver/views/_collate.c"],
              extra_compile_args=WARNINGS, optional=True),
    Extension("cbserver.views._icu_key", ["src/cbserver/views/_icu_key.c"],
              libraries=["icui18n", "icuuc"], extra_compile_args=WARNINGS, optional=True),
    Extension("cbserver.storage._disk_queue", ["src/cbserver/storage/_disk_queue.c"],
              depends=["src/cbserver/storage/_layout3.h"],
              extra_compile_args=WARNINGS, optional=True),
    Extension("cbserver.storage._batch_codec", ["src/cbserver/storage/_batch_codec.c"],
              depends=["src/cbserver/storage/_layout3.h"],
              extra_compile_args=WARNINGS, optional=True),
    Extension("cbserver.storage._crc32", ["src/cbserver/storage/_crc32.c"],
              extra_compile_args=WARNINGS, optional=True),
])
