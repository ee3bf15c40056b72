"""`workshop`, the command line: thin modules that parse arguments and call the same API notebooks call."""
