import sys

from pitterm.cli import main

sys.exit(main())
