import sys

from diffcompare.cli import main

sys.exit(main())
