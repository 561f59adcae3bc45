import sys

from suite.run.cli import main

sys.exit(main())
