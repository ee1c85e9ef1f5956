"""Dataset builders for the published Cookbook datasets (importable after `pip install cookbook-hub`)."""
