"""Regenerate the lm-eval task folder `cookbook_hub/eval/tasks/` (task YAMLs and held-out samples).

python scripts/make_lm_eval_tasks.py
"""

from __future__ import annotations

from cookbook_hub.eval.lm_eval_tasks import TASKS_DIR, write_task_files


def main() -> None:
    """Rewrite what is out of date and say what changed."""
    changed = write_task_files(TASKS_DIR)
    print(f"updated in {TASKS_DIR}: " + ", ".join(changed) if changed else "everything was up to date")


if __name__ == "__main__":
    main()
