"""Template alignment: how templates read real examples, the rule alone, and how closely models follow it."""
