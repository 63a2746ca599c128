"""Package layout: each top-level folder is a room of wardwatch, installed as wardwatch.<room>.

pyproject.toml cannot compute the subpackages of a folder mapped under another name, so this does.
"""

import warnings

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOMS = {  # the rooms, ground first; imports point down this list only (tests/unit/test_layout.py)
    "wardwatch": "wardwatch",
    "wardwatch.ingest": "ingest",
    "wardwatch.threatfeeds": "threatfeeds",
    "wardwatch.sigmarules": "sigmarules",
    "wardwatch.detectors": "detectors",
    "wardwatch.bus": "bus",
    "wardwatch.store": "store",
    "wardwatch.hunt": "hunt",
    "wardwatch.notify": "notify",
    "wardwatch.report": "report",
    "wardwatch.console": "console",
    "wardwatch.dashboards": "dashboards",
    "wardwatch.tools": "tools",
    "wardwatch.service": "service",  # `wardwatch serve`: the long-running loop and its local API
    "wardwatch.cli": "cli",
}

packages: list[str] = []
package_dir: dict[str, str] = {}
for package, folder in ROOMS.items():
    packages.append(package)
    package_dir[package] = folder
    packages.extend(f"{package}.{sub}" for sub in find_packages(folder))

# Optional speed-ups: each has a pure-Python fallback, so a machine without a C compiler still installs.
NATIVE_H = ["ingest/_native.h"]  # buffer checks the three share
ext_modules = [
    Extension("wardwatch.ingest.capture._scan", ["ingest/capture/_scan.c"], depends=NATIVE_H, optional=True),
    Extension(
        "wardwatch.ingest.decode._fastdecode", ["ingest/decode/_fastdecode.c"], depends=NATIVE_H, optional=True
    ),
    Extension(
        "wardwatch.ingest.flows._tcprun",
        ["ingest/flows/_tcprun.c"],
        depends=[*NATIVE_H, "ingest/flows/_uid.h", "ingest/flows/_slots.h"],
        optional=True,
    ),
    # the log import (ingest/logs/zeek.py, eve.py keep the Python fallbacks): Zeek TSV/JSON lines and EVE
    # flow/DNS events → records; bench/bench_import.py: 185k → 400k (TSV), 185k → 300k (EVE) lines/s
    Extension("wardwatch.ingest.logs._zeektsv", ["ingest/logs/_zeektsv.c"], optional=True),
    # the DNS message decoder (ingest/dns/wire.py keeps the Python fallback; WARDWATCH_DNS_PYTHON=1)
    Extension("wardwatch.ingest.dns._dnswire", ["ingest/dns/_dnswire.c"], optional=True),
    Extension("wardwatch.ingest.logs._evefast", ["ingest/logs/_evefast.c"], optional=True),
    # Batch's per-record loops (detectors/base.py keeps the Python ones; WARDWATCH_DETECT_PYTHON=1)
    Extension("wardwatch.detectors._batch", ["detectors/_batch.c"], optional=True),
    # segments.ipv4_values (segments.py keeps the Python loop; WARDWATCH_DETECT_PYTHON=1)
    Extension("wardwatch._addr", ["wardwatch/_addr.c"], optional=True),
    # record dicts to Arrow buffers for the store (store/writer.py keeps pyarrow's; WARDWATCH_STORE_PYTHON=1)
    Extension("wardwatch.store._rows", ["store/_rows.c"], optional=True),
]


class OptionalBuildExt(build_ext):
    """Build the C extensions when possible; warn and go on with the Python fallback when not."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all (setuptools raises before building)
            warnings.warn(f"C extensions not built, using the pure-Python fallback: {exc}", stacklevel=1)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            warnings.warn(f"C extension {ext.name} not built, using its Python fallback: {exc}", stacklevel=1)


setup(
    packages=packages,
    package_dir=package_dir,
    ext_modules=ext_modules,
    cmdclass={"build_ext": OptionalBuildExt},
)
