"""``python -m assistant.cli`` is ``beleidsassistent`` (a checkout without the script)."""

import sys

from assistant.cli import main

sys.exit(main())
