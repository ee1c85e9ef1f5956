"""Template alignment: how templates read real examples, the rule alone, and how closely models follow it.

Calling the package, `cookbook_hub.align(task_file, template, ...)`, is `cookbook_hub.align.run.align(...)`.
"""

from cookbook_hub import make_callable

make_callable(__name__, "cookbook_hub.align.run:align")
