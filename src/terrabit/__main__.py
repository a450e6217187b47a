"""``python -m terrabit`` runs the CLI."""

from terrabit.cli.main import cli

if __name__ == "__main__":  # pragma: no branch
    cli(prog_name="terrabit")
