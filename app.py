"""The web UI for staff: ``python app.py`` (or ``beleidsassistent serve``) serves it on
http://127.0.0.1:7860. The UI itself lives in ``assistant/webui.py`` so that an installed wheel
has it too; this file keeps the checkout's familiar command working."""

import sys

from assistant.webui import main

if __name__ == "__main__":
    sys.exit(main())
