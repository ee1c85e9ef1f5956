"""Reserved for learned template mixtures (Cookbook-Mix): effect estimators, the weight solver, learned recipes."""
