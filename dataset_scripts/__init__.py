"""Dataset builders for the published Cookbook datasets, installed as `cookbook_hub._dataset_scripts`."""
