"""``python -m gsocseq.cli``: the command line."""

from gsocseq.cli import main

main()
