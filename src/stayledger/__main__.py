"""`python -m stayledger`: the command line."""

from stayledger.cli.main import app

app(prog_name="stayledger")
