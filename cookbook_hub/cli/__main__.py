"""`python -m cookbook_hub.cli`: the same command line as `cookbook-hub`."""

from cookbook_hub.cli.app import main

main()
