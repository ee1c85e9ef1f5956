"""Evaluation with lm-eval: real-task files, the GPT4ALL suite, task YAMLs, the runner and its results."""
