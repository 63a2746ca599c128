"""Package layout: each top-level folder is a room of wardwatch, installed as wardwatch.<room>.

pyproject.toml cannot compute the subpackages of a folder mapped under another name, so this does.
"""

from setuptools import find_packages, setup

ROOMS = {
    "wardwatch": "wardwatch",
    "wardwatch.ingest": "ingest",
    "wardwatch.threatfeeds": "threatfeeds",
    "wardwatch.detectors": "detectors",
    "wardwatch.dashboards": "dashboards",
}

packages: list[str] = []
package_dir: dict[str, str] = {}
for package, folder in ROOMS.items():
    packages.append(package)
    package_dir[package] = folder
    packages.extend(f"{package}.{sub}" for sub in find_packages(folder))

setup(packages=packages, package_dir=package_dir)
