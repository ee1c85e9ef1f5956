"""Publishing folders to a local hub (git) or the Hugging Face Hub, and pulling or fetching versions back."""
