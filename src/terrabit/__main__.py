"""``python -m terrabit`` runs the CLI."""

from terrabit.cli.main import main

if __name__ == "__main__":  # pragma: no branch
    main()
