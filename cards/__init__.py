"""Jinja2 templates of the cards cookbook-hub renders (dataset card, model card)."""
