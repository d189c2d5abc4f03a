"""``flask serve``: the embedded all-in-one process started by ``make run``.

It serves the web application and runs the background services the domains register (the
development mailbox, the campaign scheduler, a delivery worker). Ctrl-C stops all of them.
"""

from __future__ import annotations

import click
from flask import current_app
from werkzeug.serving import run_simple

from app import background


@click.command("serve", help="Serve the web app and run the background services (Ctrl-C stops).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-background", is_flag=True, help="Serve the web app only.")
def group(host: str, port: int, no_background: bool) -> None:
    """Start everything; stop everything on Ctrl-C."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # the proxy's own method
    stoppers = [] if no_background else background.start_all(app)
    click.echo(f"Assenso is running at http://{host}:{port}/ (Ctrl-C stops everything)")
    try:
        # Werkzeug's threaded server, started directly: Flask refuses app.run() inside its CLI.
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    except KeyboardInterrupt:
        pass
    finally:
        background.stop_all(stoppers)
        click.echo("Stopped.")
