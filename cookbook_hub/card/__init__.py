"""The one card renderer (jinja2 -> DatasetCard/ModelCard) and the dataset and model cards, read from folders."""
