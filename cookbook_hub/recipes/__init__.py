"""Recipes: the schema (`schema.py`) next to the shipped YAML files it loads."""
