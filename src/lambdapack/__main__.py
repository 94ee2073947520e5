import sys

from lambdapack.cli.main import main

sys.exit(main())
