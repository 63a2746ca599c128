"""``wardwatch serve``: capture → detectors → store around the clock, and the local HTTP API through
which other commands reach the store the service holds (docs/SERVICE.md).

    from wardwatch.service import Service
    Service(config_path, load, pcaps=[...]).run()       # until SIGTERM / SIGINT

The room sits above the people's rooms (the console will mount on its HTTP server) and beside
``tools/``; it imports the rooms below it and is wired by ``cli/commands/serve.py``.
"""
