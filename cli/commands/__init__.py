"""One module per ``wardwatch`` subcommand; each exposes ``register(subparsers)``.

Commands are imported lazily by the CLI so that ``wardwatch sensor`` never pays for loading the
detectors or the store.
"""

COMMANDS = ("sensor", "feeds", "detect", "synth", "run", "query", "hunt", "rules", "writer", "doctor", "serve", "alerts", "notify", "dashboards", "report", "users", "collect")
