"""The ``terrabit`` command line: one thin module per command over one library call."""
