"""`python -m grader.cli`: the same as the `workshop` command."""

import sys

from grader.cli.workshop import main

sys.exit(main())
