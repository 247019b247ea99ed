"""One module per verb: the body of each command the CLI wires up."""
