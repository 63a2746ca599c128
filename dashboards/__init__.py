"""Grafana boards as code for the SOC, on the embedded store and on a ClickHouse cluster (issue 14).

    from wardwatch.dashboards.export import export, render
    export(Path("out"), langs=("vi", "en"))          # JSON + provisioning files
    docs = render(("vi",), segments=())               # the boards as JSON, by language

See README.md beside this file for the modules and docs/DASHBOARDS.md for the boards.
"""
