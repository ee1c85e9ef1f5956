"""cookbook-hub: Cookbook templates as versioned Hugging Face datasets."""

__version__ = "0.1.0"
